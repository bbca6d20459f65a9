# /ping and the inference location's routing (API.md section 1).
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3 + 13);

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: ping with a loaded model is healthy
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
--- config
    location / { torchserve_inference; }
--- request
GET /ping
--- error_code: 200
--- response_body
{
  "status": "Healthy"
}
--- no_error_log
[error]



=== TEST 2: ping with no model is healthy
--- config
    location / { torchserve_inference; }
--- request
POST /ping
--- error_code: 200
--- response_body
{
  "status": "Healthy"
}
--- no_error_log
[error]



=== TEST 3: a model with 0 workers does not make ping unhealthy
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar workers=0;
--- config
    location / { torchserve_inference; }
--- request
GET /ping/
--- error_code: 200
--- response_body
{
  "status": "Healthy"
}
--- no_error_log
[error]



=== TEST 4: a model that failed to load makes ping unhealthy
The model loads in the thread pool after nginx starts (a loading model
is healthy): a prediction first, which waits for the load and gets its
failure, then /ping.
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar input_shape=63;
--- config
    location / { torchserve_inference; }
--- request eval
["POST /predictions/digits\n" . main::sample(0), "GET /ping"]
--- error_code eval
[500, 500]
--- response_body_like eval
[qr/failed to load: warm-up forward on a zero input of shape \[1, 63\]/,
 qr/\A\{\n  "status": "Unhealthy"\n\}\n?\z/]
--- timeout: 30



=== TEST 5: a model still loading at start: ping healthy, v2 ready not yet, describe LOADING, a prediction waits
One pool thread: slow_load (warmed up 6 times, a few seconds) loads first,
then digits. The event loop answers meanwhile; /ping counts a loading
model as healthy (TorchServe's starting workers), v2 readiness does not.
--- main_config
    thread_pool tsone threads=1;
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_thread_pool tsone;
    torchserve_model slow_load slow_load.mar input_shape=1 warmup=6;
    torchserve_model digits digits.mar;
--- config
    location /models { torchserve_management; }
    location / { torchserve_inference; }
--- request eval
["GET /ping", "GET /v2/health/ready", "GET /models/slow_load",
 "POST /predictions/digits\n" . main::sample(0), "GET /v2/health/ready"]
--- error_code eval
[200, 503, 200, 200, 200]
--- response_body_like eval
[qr/"status": "Healthy"/, qr/"ready": false/,
 qr/"workers": \[\n      \{\n(?:[^}]*\n)*?        "status": "LOADING",\n        "memoryUsage": 0,/,
 qr/^\[\n  0\.99968/, qr/"ready": true/]
--- no_error_log
[error]
--- timeout: 30



=== TEST 6: unknown path
--- config
    location / { torchserve_inference; }
--- request
GET /nothing/here
--- error_code: 404
--- response_body
{
  "code": 404,
  "type": "ResourceNotFoundException",
  "message": "Requested resource is not found, please refer to API document."
}
--- no_error_log
[error]



=== TEST 6: /predictions without a model name
--- config
    location / { torchserve_inference; }
--- request
POST /predictions
--- error_code: 404
--- response_body
{
  "code": 404,
  "type": "ResourceNotFoundException",
  "message": "Requested resource is not found, please refer to API document."
}
--- no_error_log
[error]



=== TEST 7: the root path answers 405 as TorchServe does
--- config
    location / { torchserve_inference; }
--- request
GET /
--- error_code: 405
--- response_body
{
  "code": 405,
  "type": "MethodNotAllowedException",
  "message": "Requested method is not allowed, please refer to API document."
}
--- no_error_log
[error]
