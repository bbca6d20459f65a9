# One range for each numeric parameter, wherever it is given (nginx.conf,
# the Management API, model-config.yaml), with a 400 or an nginx -t
# error naming it; times in nginx.conf carry a unit; names and versions
# from a manifest follow the same rules as model_name=; the list's page
# token falls back as TorchServe's does.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 - 1);

no_shuffle();
no_root_location();

add_block_defaults(
    http_config  => models_config("digits digits.mar"),
    config       => $ApiLocations,
    no_error_log => "[error]");

run_tests();

__DATA__

=== TEST 1: a response_timeout that would overflow into milliseconds: 400
--- request
POST /models?url=digits_v2.mar&model_name=huge&response_timeout=18446744073709552
--- error_code: 400
--- response_body
{
  "code": 400,
  "type": "BadRequestException",
  "message": "Invalid value for parameter response_timeout: \"18446744073709552\" (seconds, 1 to 604800)"
}



=== TEST 2: response_timeout=0 would answer every prediction 504: 400
--- request
POST /models?url=digits_v2.mar&model_name=zero&response_timeout=0
--- error_code: 400
--- response_body_like: "message": "Invalid value for parameter response_timeout: \\"0\\" \(seconds, 1 to 604800\)"



=== TEST 3: batch_size above 1024: 400
--- request
POST /models?url=digits_v2.mar&model_name=wide&batch_size=1025
--- error_code: 400
--- response_body_like: "message": "Invalid value for parameter batch_size: \\"1025\\" \(a whole number, 1 to 1024\)"



=== TEST 4: max_batch_delay above an hour: 400
--- request
POST /models?url=digits_v2.mar&model_name=late&max_batch_delay=3600001
--- error_code: 400
--- response_body_like: "message": "Invalid value for parameter max_batch_delay: \\"3600001\\" \(milliseconds, 0 to 3600000\)"



=== TEST 5: a scale beyond the workers a process can run: 400
--- request
PUT /models/digits?min_worker=100000
--- error_code: 400
--- response_body_like: "message": "Invalid value for parameter min_worker: \\"100000\\" \(a whole number, 0 to 256\)"



=== TEST 6: a manifest's modelName with a "/" is refused
--- request
POST /models?url=bad_name.mar
--- error_code: 400
--- response_body_like: "type": "InvalidModelException",\n  "message": "Invalid model name \\"a/b\\" in the manifest



=== TEST 7: the same archive under a model_name of its own is fine
--- request
POST /models?url=bad_name.mar&model_name=renamed
--- response_body_like: "status": "Model \\"renamed\\" Version: 1\.0 registered with 0 initial workers



=== TEST 8: a manifest version with a "/" is refused
--- request
POST /models?url=bad_version.mar
--- error_code: 400
--- response_body_like: "message": "Invalid model version \\"1/2\\" in the manifest



=== TEST 9: a manifest version "all" (describe's route) is refused
--- request
POST /models?url=version_all.mar
--- error_code: 400
--- response_body_like: "message": "Invalid model version \\"all\\" in the manifest



=== TEST 10: model-config.yaml out of range: the registration is refused
--- request
POST /models?url=yaml_range.mar
--- error_code: 400
--- response_body_like: "message": "model-config.yaml: batchSize is 5000: out of range \(a whole number, 1 to 1024\)"



=== TEST 11: nginx.conf: a bare max_batch_delay asks for a unit
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=4 max_batch_delay=50;
--- must_die
--- error_log
invalid parameter of model "digits": max_batch_delay=50 needs a unit, as nginx times do: 50ms, 1s (a bare number is seconds to nginx, milliseconds to TorchServe)



=== TEST 12: nginx.conf: a bare response_timeout asks for a unit
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar response_timeout=120;
--- must_die
--- error_log
invalid parameter of model "digits": response_timeout=120 needs a unit, as nginx times do: 120s, 2m



=== TEST 13: nginx.conf: response_timeout in whole seconds
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar response_timeout=500ms;
--- must_die
--- error_log
invalid parameter of model "digits": response_timeout=500ms: seconds, 1 to 604800, whole seconds (120s, 2m)



=== TEST 14: nginx.conf: a manifest version the routes cannot reach
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model badversion bad_version.mar;
--- must_die
--- error_log
the manifest's version "1/2" is invalid



=== TEST 15: nginx.conf: units as nginx spells them, stored in TorchServe's
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=4 max_batch_delay=1s response_timeout=2m;
--- request
GET /models/digits
--- response_body_like: "batchSize": 4,\n    "maxBatchDelay": 1000,\n    "responseTimeout": 120,



=== TEST 16: a page token beyond INT_MAX falls back to 0, as in TorchServe
--- request
GET /models?next_page_token=2147483648
--- response_body
{
  "models": [
    {
      "modelName": "digits",
      "modelUrl": "digits.mar"
    }
  ]
}



=== TEST 17: a page token near the 64-bit limit does not wrap around
--- request
GET /models?next_page_token=9223372036854775807&limit=100
--- response_body
{
  "models": [
    {
      "modelName": "digits",
      "modelUrl": "digits.mar"
    }
  ]
}



=== TEST 18: POST /models with a JSON body: its arguments, the query ignored
--- request eval
[
'POST /models?url=missing.mar
{"url": "digits_v2.mar", "model_name": "viajson", "initial_workers": 1, "synchronous": true, "batch_size": 2, "max_batch_delay": 7}',
"GET /models/viajson",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200]
--- response_body_like eval
[
qr/"status": "Model \\"viajson\\" Version: 2\.0 registered with 1 initial workers"/,
qr/"batchSize": 2,\n    "maxBatchDelay": 7,/,
]



=== TEST 19: the JSON body's arguments are checked as the query's
--- request
POST /models
{"url": "digits_v2.mar", "model_name": "j2", "response_timeout": 0}
--- more_headers
Content-Type: application/json; charset=utf-8
--- error_code: 400
--- response_body_like: "message": "Invalid value for parameter response_timeout: \\"0\\" \(seconds, 1 to 604800\)"



=== TEST 20: a JSON body that is not JSON: 400 with where
--- request
POST /models
{"url": "digits_v2.mar",
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: "message": "Invalid registration body: .* at line \d+, column \d+"



=== TEST 21: a JSON body with an unknown member: 400 naming it
--- request
POST /models
{"url": "digits_v2.mar", "modelname": "typo"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: "message": "Unknown parameter: modelname"



=== TEST 22: a JSON body without url: TorchServe's 400
--- request
POST /models?url=digits_v2.mar
{"model_name": "nourl"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: "message": "Parameter url is required\."
