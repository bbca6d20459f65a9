# Errors in TorchServe's JSON shape and codes (API.md sections 1, 3, 9),
# each with one error-log line naming the model and the cause.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3 + 6);

no_shuffle();
no_root_location();

add_block_defaults(
    http_config => models_config("digits digits.mar input_shape=64",
                                 "raw digits.mar",
                                 "idle digits.mar workers=0"),
    config      => "location / { torchserve_inference; }");

run_tests();

__DATA__

=== TEST 1: unknown model
--- request
POST /predictions/nosuch
[1]
--- error_code: 404
--- response_body
{
  "code": 404,
  "type": "ModelNotFoundException",
  "message": "Model not found: nosuch"
}
--- error_log
torchserve: model "nosuch" not found



=== TEST 2: unknown version
--- request
POST /predictions/digits/9.9
[1]
--- error_code: 404
--- response_body
{
  "code": 404,
  "type": "ModelVersionNotFoundException",
  "message": "Model version: 9.9 does not exist for model: digits"
}
--- error_log
torchserve: model "digits" has no version "9.9"



=== TEST 3: GET is not a prediction method here
--- request
GET /predictions/digits
--- error_code: 405
--- response_body
{
  "code": 405,
  "type": "MethodNotAllowedException",
  "message": "Requested method is not allowed, please refer to API document."
}
--- error_log
torchserve: model "digits": method GET is not allowed for predictions



=== TEST 4: a body that is not JSON
--- request
POST /predictions/digits
[1, 2,
--- error_code: 400
--- response_body_like: ^\{\n  "code": 400,\n  "type": "BadRequestException",\n  "message": "invalid JSON at line 1, column \d+: .*"\n\}\n$
--- error_log
torchserve: model "digits" version "1.0": 400: invalid JSON



=== TEST 5: an empty body
--- request
POST /predictions/digits
--- error_code: 400
--- response_body_like: "message": "the request body is empty: send one instance as JSON"
--- error_log
torchserve: model "digits" version "1.0": 400



=== TEST 6: a ragged nested list
--- request
POST /predictions/digits
[[1, 2], [3]]
--- error_code: 400
--- response_body_like: "type": "BadRequestException",\n  "message": ".*ragged
--- error_log
torchserve: model "digits" version "1.0": 400



=== TEST 7: a wrong shape refused before forward (input_shape known)
--- request
POST /predictions/digits
[1, 2, 3]
--- error_code: 400
--- response_body
{
  "code": 400,
  "type": "BadRequestException",
  "message": "input of shape [3] does not match the model's input shape [64] (one instance, without the batch dimension)"
}
--- error_log
torchserve: model "digits" version "1.0": 400: input of shape [3]



=== TEST 8: a wrong shape refused by libtorch (shape unknown)
--- request
POST /predictions/raw
[1, 2, 3]
--- error_code: 400
--- response_body_like: "message": ".*mat1 and mat2 shapes cannot be multiplied \(1x3 and 64x32\)
--- error_log
torchserve: model "raw" version "1.0": 400



=== TEST 9: a model with 0 workers answers 503
--- request
POST /predictions/idle
[1]
--- error_code: 503
--- response_body
{
  "code": 503,
  "type": "ServiceUnavailableException",
  "message": "Model \"idle\" has no worker to serve inference request. Please use scale workers API to add workers. If this is a sequence inference, please check if it is closed, or expired; or exceeds maxSequenceJobQueueSize"
}
--- error_log
torchserve: model "idle" version "1.0" has no worker



=== TEST 10: 0 workers with a version in the URL (TorchServe's stray quote)
--- request
POST /predictions/idle/1.0
[1]
--- error_code: 503
--- response_body
{
  "code": 503,
  "type": "ServiceUnavailableException",
  "message": "Model \"idle\" Version 1.0\" has no worker to serve inference request. Please use scale workers API to add workers. If this is a sequence inference, please check if it is closed, or expired; or exceeds maxSequenceJobQueueSize"
}
--- error_log
torchserve: model "idle" version "1.0" has no worker



=== TEST 11: a body over client_max_body_size is nginx's 413
--- config
    location / {
        client_max_body_size 1k;
        torchserve_inference;
    }
--- request eval
"POST /predictions/digits\n[" . CORE::join(",", (0.5) x 1000) . "]"
--- error_code: 413
--- response_body_like: 413 Request Entity Too Large
--- error_log
client intended to send too large body



=== TEST 12: a model that failed to load answers 500
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar input_shape=8,8;
--- request
POST /predictions/digits
[1]
--- error_code: 500
--- response_body_like: "type": "InternalServerException",\n  "message": "Model \\"digits\\" version 1.0 failed to load: warm-up forward
--- error_log
torchserve: model "digits" version "1.0" is not loaded



=== TEST 13: CUDA asked for where there is none: a clear load error
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar device=cuda:0;
--- request
POST /predictions/digits
[1]
--- error_code: 500
--- response_body_like: device \\"cuda:0\\" was asked for, but CUDA is not available
--- error_log
device "cuda:0" was asked for, but CUDA is not available



=== TEST 14: hostile JSON: nesting deeper than the parser allows
--- request eval
"POST /predictions/digits\n" . ("[" x 5000) . ("]" x 5000)
--- error_code: 400
--- response_body_like: "message": "invalid JSON at line 1, column 2049: maximum parsing depth reached
--- error_log
torchserve: model "digits" version "1.0": 400



=== TEST 15: hostile JSON: strings, NaN and huge numbers are not tensors
--- request eval
[
"POST /predictions/raw\n[\"a\", \"b\"]",
"POST /predictions/raw\n[NaN]",
"POST /predictions/raw\n[1e400]",
]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
[
qr/expected a number at \[0\], got a string/,
qr/invalid token near 'NaN'/,
qr/real number overflow/,
]
--- error_log
torchserve: model "raw" version "1.0": 400
