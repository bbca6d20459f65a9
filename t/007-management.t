# The Management API over the shared registry, on 2 worker processes:
# TorchServe's paths, parameters, codes and messages (API.md section 2).
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

master_on();
workers(2);
worker_connections(1024);
repeat_each(1);

# every request is checked for its status, its body and the error log
plan tests => repeat_each() * 3 * (6 + 9 + 17 + 4 + 7 + 3 + 2 + 1);

no_shuffle();
no_root_location();

our $S0 = sample(0);

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config",
                      models_config("digits digits.mar input_shape=64"))
        unless defined $block->http_config;

    if (!defined $block->config) {
        $block->set_value("config", <<"_EOC_"
    location /models { torchserve_management; }
    location / { torchserve_inference; }

    # 50 concurrent predictions of mnist, fanned out by nginx itself
    location = /fan.html { ssi on; }
_EOC_
            . post_location("/one", "/predictions/mnist", $::S0) . <<"_EOC_");

    # two registrations of the same name and version at once
    location = /race.html { ssi on; }
    location = /register {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/models?url=digits_v2.mar&model_name=race;
        proxy_method POST;
        proxy_pass_request_body off;
    }
_EOC_
    }

    $block->set_value("user_files",
        fan_out("fan.html", 50, "/one") . "\n"
        . fan_out("race.html", 2, "/register"));

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: register, list, scale, serve on both processes, describe
--- request eval
[
"POST /models?url=digits_v2.mar&model_name=mnist",
"GET /models",
"POST /predictions/mnist\n$::S0",
"PUT /models/mnist?min_worker=1&max_worker=2&synchronous=true",
"GET /fan.html",
"GET /models/mnist",
]
--- error_code eval
[200, 200, 503, 200, 200, 200]
--- response_body_like eval
[
qr/^\{\n  "status": "Model \\"mnist\\" Version: 2\.0 registered with 0 initial workers\. Use scale workers API to add workers for the model\."\n\}\n$/,
qr/^\{\n  "models": \[\n    \{\n      "modelName": "digits",\n      "modelUrl": "digits\.mar"\n    \},\n    \{\n      "modelName": "mnist",\n      "modelUrl": "digits_v2\.mar"\n    \}\n  \]\n\}\n$/,
qr/"code": 503,\n  "type": "ServiceUnavailableException",\n  "message": "Model \\"mnist\\" has no worker/,
qr/^\{\n  "status": "Workers scaled to 1 for model: mnist"\n\}\n$/,
qr/^(?:\[\n  0\.979980[^\]]*\]){50}$/,
qr/^\[\n  \{\n    "modelName": "mnist",\n    "modelVersion": "2\.0",\n    "modelUrl": "digits_v2\.mar",\n    "runtime": "python",\n    "minWorkers": 1,\n    "maxWorkers": 2,(?s:.*)"loadedAtStartup": false,\n    "workers": \[\n      \{\n        "id": "\d",\n        "startTime": "[-0-9T:.]+Z",\n        "status": "READY",(?s:.*)"pid": \d+,(?s:.*)"id": "\d",(?s:.*)"status": "READY",(?s:.*)"pid": \d+,/,
]



=== TEST 2: versions side by side, set-default, delete rules
--- request eval
[
"POST /models?url=digits_v2.mar&initial_workers=1",
"POST /predictions/digits\n$::S0",
"POST /predictions/digits/2.0\n$::S0",
"PUT /models/digits/2.0/set-default",
"POST /predictions/digits\n$::S0",
"DELETE /models/digits/2.0",
"DELETE /models/digits/1.0",
"POST /predictions/digits/1.0\n$::S0",
"GET /models/digits/all",
]
--- error_code eval
[200, 200, 200, 200, 200, 403, 200, 404, 200]
--- response_body_like eval
[
qr/"status": "Model \\"digits\\" Version: 2\.0 registered with 1 initial workers"/,
qr/^\[\n  0\.99968/,
qr/^\[\n  0\.979980/,
qr/"status": "Default version successfully updated for model \\"digits\\" to \\"2\.0\\""/,
qr/^\[\n  0\.979980/,
qr/"code": 403,\n  "type": "InvalidModelVersionException",\n  "message": "Cannot remove default version for model digits"/,
qr/^\{\n  "status": "Model \\"digits\\" unregistered"\n\}\n$/,
qr/"type": "ModelVersionNotFoundException",\n  "message": "Model version: 1\.0 does not exist for model: digits"/,
qr/^\[\n  \{\n    "modelName": "digits",\n    "modelVersion": "2\.0",(?s:(?!modelVersion).)*\]\n$/,
]



=== TEST 3: errors, each in TorchServe's shape
--- request eval
[
"POST /models",
"POST /models?url=",
"POST /models?url=../digits.mar",
"POST /models?url=nosuch.mar",
"POST /models?url=http://example.com/x.mar",
"POST /models?url=digits.mar",
"POST /models?url=eager.mar",
"POST /models?url=digits_v2.mar&batch_size=abc",
"POST /models?url=digits_v2.mar&colour=blue",
"POST /models?url=digits_v2.mar&runtime=java",
"PUT /models/digits?min_worker=3&max_worker=2",
"PUT /models/nosuch?min_worker=1",
"GET /models/digits/9.9",
"PUT /models/digits/9.9/set-default",
"PUT /models/digits?min_worker=-1",
"POST /models?url=digits.mar%00x",
"POST /models?url=digits_v2.mar&model_name=a/b",
]
--- error_code eval
[400, 404, 404, 404, 404, 409, 400, 400, 400, 400, 400, 404, 404, 404, 400, 400, 400]
--- response_body_like eval
[
qr/"code": 400,\n  "type": "BadRequestException",\n  "message": "Parameter url is required\."/,
qr/"type": "ModelNotFoundException",\n  "message": "empty url"/,
qr/"message": "Relative path is not allowed in url: \.\.\/digits\.mar"/,
qr/"type": "ModelNotFoundException",\n  "message": "Model not found at: nosuch\.mar"/,
qr/"message": "Given URL http:\/\/example\.com\/x\.mar does not match any allowed URL\(s\)"/,
qr/"code": 409,\n  "type": "ConflictStatusException",\n  "message": "Model version 1\.0 is already registered for model digits"/,
qr/"type": "InvalidModelException",\n  "message": ".*eager-mode model.*--export-torchscript/,
qr/"message": "Invalid value for parameter batch_size: \\"abc\\"/,
qr/"message": "Unknown parameter: colour"/,
qr/"message": "Invalid RuntimeType value: java"/,
qr/"message": "max_worker cannot be less than min_worker\."/,
qr/"type": "ModelNotFoundException",\n  "message": "Model not found: nosuch"/,
qr/"message": "Model version: 9\.9 does not exist for model: digits"/,
qr/"message": "Model version 9\.9 does not exist for model digits"/,
qr/"message": "Invalid value for parameter min_worker: \\"-1\\"/,
qr/"message": "Invalid url: control characters are not allowed"/,
qr/"message": "Invalid value for parameter model_name: \\"a\/b\\"/,
]



=== TEST 4: torchserve_model_api off: register and delete are 405
--- config
    location /models {
        torchserve_management;
        torchserve_model_api off;
    }
    location / { torchserve_inference; }
--- request eval
[
"POST /models?url=digits_v2.mar",
"DELETE /models/digits",
"GET /models",
"PUT /models/digits?min_worker=1",
]
--- error_code eval
[405, 405, 200, 202]
--- response_body_like eval
[
qr/"type": "MethodNotAllowedException"/,
qr/"type": "MethodNotAllowedException"/,
qr/"modelName": "digits"/,
qr/"status": "Processing worker updates\.\.\."/,
]



=== TEST 5: scale to 0 -> 503, back up -> 200, unregister -> 404
--- request eval
[
"PUT /models/digits?min_worker=0&synchronous=true",
"POST /predictions/digits\n$::S0",
"POST /predictions/digits\n$::S0",
"PUT /models/digits?min_worker=1&synchronous=true",
"POST /predictions/digits\n$::S0",
"DELETE /models/digits",
"POST /predictions/digits\n$::S0",
]
--- error_code eval
[200, 503, 503, 200, 200, 200, 404]
--- response_body_like eval
[
qr/"status": "Workers scaled to 0 for model: digits"/,
qr/"Model \\"digits\\" has no worker/,
qr/"Model \\"digits\\" has no worker/,
qr/"status": "Workers scaled to 1 for model: digits"/,
qr/^\[\n  0\.99968/,
qr/"status": "Model \\"digits\\" unregistered"/,
qr/"message": "Model not found: digits"/,
]



=== TEST 6: a full zone: a clear 507, and nothing registered is harmed
A prediction first waits for digits' load (in the thread pool, after
nginx starts).
--- http_config
    torchserve_zone small:40k;
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar input_shape=64;
--- request eval
[
"POST /predictions/digits\n$::S0",
"POST /models?url=digits_v2.mar&model_name=a",
"POST /models?url=digits_v2.mar&model_name=b",
"GET /models/digits",
]
--- error_code eval
[200, 200, 507, 200]
--- response_body_like eval
[
qr/^\[\n  0\./,
qr/"status": "Model \\"a\\" Version: 2\.0 registered/,
qr/"code": 507,\n  "type": "InternalServerException",\n  "message": "torchserve zone \\"small\\" is full: raise its size with torchserve_zone"/,
qr/"modelName": "digits",(?s:.*)"loadedAtStartup": true,(?s:.*)"status": "READY",\n        "memoryUsage": [1-9]\d*,/,
]



=== TEST 7: two registrations racing: one 200, one 409
--- request eval
[
"GET /race.html",
"GET /models/race/all",
]
--- error_code eval
[200, 200]
--- response_body_like eval
[
qr/^(?=(?s:.*)"status": "Model \\"race\\" Version: 2\.0 registered with 0 initial workers)(?=(?s:.*)"code": 409,\n  "type": "ConflictStatusException")/,
qr/^\[\n  \{\n    "modelName": "race",(?s:(?!modelName).)*\]\n$/,
]
