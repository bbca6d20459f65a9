# Dynamic batching: requests of a model join a per-process queue, flushed
# (batch_policy=delay, TorchServe's) at batch_size or max_batch_delay
# after the first, one forward per batch; a bad instance fails alone; a
# full queue answers 503 at once.  t/023 tests the adaptive policy.
# Concurrent requests come from nginx itself (SSI includes proxied back).
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

worker_connections(1024);
repeat_each(1);

plan tests => repeat_each() * (4 * 3 + 4 + 3 + 2 * 3 + 3 + 3);

no_shuffle();
no_root_location();

our $S0 = sample(0);
our $Bad = "[1, 2, 3]";

add_block_preprocessor(sub {
    my $block = shift;

    # a block's own config comes after the shared locations
    $block->set_value("config",
        ($block->config // '')
        . "    location = /fan.html { ssi on; }\n"
        . post_location("/good", "/predictions/digits", $::S0)
        . post_location("/bad", "/predictions/digits", $::Bad)
        . post_location("/slowreq", "/predictions/slow", "[2500]",
                        "proxy_read_timeout 500ms;")
        . post_location("/fastreq", "/predictions/slow", "[1]")
        . <<"_EOC_");
    location / {
        torchserve_inference;
        add_header X-Batch-Size \$torchserve_batch_size always;
    }
_EOC_

    $block->set_value("request", "GET /fan.html")
        unless defined $block->request;
});

run_tests();

__DATA__

=== TEST 1: 8 at once with batch_size=4: two forwards of 4, every answer right
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=4 max_batch_delay=2s batch_policy=delay;
--- user_files eval
main::fan_out("fan.html", 8, "/good")
--- response_body_filters eval
main::close_to_each("digits", 0, 8)
--- response_body
close
--- grep_error_log eval
qr/torchserve: model "digits": batch of \d+/
--- grep_error_log_out
torchserve: model "digits": batch of 4
torchserve: model "digits": batch of 4



=== TEST 2: fewer than batch_size: flushed max_batch_delay after the first
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=8 max_batch_delay=200ms batch_policy=delay;
--- user_files eval
main::fan_out("fan.html", 3, "/good")
--- response_body_filters eval
main::close_to_each("digits", 0, 3)
--- response_body
close
--- grep_error_log eval
qr/torchserve: model "digits": batch of \d+/
--- grep_error_log_out
torchserve: model "digits": batch of 3



=== TEST 3: a bad instance in a batch gets its 400, the others their answers
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=4 max_batch_delay=2s batch_policy=delay;
--- user_files eval
">>> fan.html\n" . '<!--# include virtual="/good" -->'
. '<!--# include virtual="/bad" -->'
. ('<!--# include virtual="/good" -->' x 2)
--- response_body_like: ^\[\n  0\.99968[^\]]*\]\{\n  "code": 400,\n  "type": "BadRequestException",\n  "message": "mat1 and mat2 shapes cannot be multiplied \(1x3 and 64x32\)"\n\}\n(?:\[\n  0\.99968[^\]]*\]){2}$
--- grep_error_log eval
qr/torchserve: model "digits": batch of \d+/
--- grep_error_log_out
torchserve: model "digits": batch of 4



=== TEST 4: beyond job_queue_size waiting requests: 503 at once
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=8 max_batch_delay=500ms job_queue_size=2 batch_policy=delay;
--- user_files eval
main::fan_out("fan.html", 4, "/good")
--- response_body_like: ^(?=(?:.*?"code": 503,\n  "type": "ServiceUnavailableException",\n  "message": "Model \\"digits\\" version \\"1\.0\\": its job queue is full \(2 requests waiting, job_queue_size 2 in this worker process\): try again later, or raise job_queue_size"){2})(?!(?:.*?"code": 503){3})(?=(?:.*?\[\n  0\.99968){2})
--- grep_error_log eval
qr/torchserve: model "digits": batch of \d+/
--- grep_error_log_out
torchserve: model "digits": batch of 2



=== TEST 5: $torchserve_batch_size
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=4 max_batch_delay=50ms;
--- request eval
"POST /predictions/digits\n$::S0"
--- response_headers
X-Batch-Size: 1
--- response_body_like: ^\[\n  0\.99968
--- no_error_log
[error]



=== TEST 6: past response_timeout: 504 while forward still runs
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar response_timeout=1s;
--- request
POST /predictions/slow
[2500]
--- error_code: 504
--- response_body_like: "message": "Model \\"slow\\" did not answer within response_timeout \(1 s\)"
--- error_log
no answer within response_timeout (1000 ms)
--- timeout: 30



=== TEST 7: the late result is dropped, and the model serves on
Two workers: the second request gets the slot the abandoned forward does
not hold (with one, it would wait behind that forward, and since
response_timeout counts from the queue, time out too: t/015 TEST 2).
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar workers=2 response_timeout=1s;
--- request eval
[
"POST /predictions/slow\n[2500]",
"POST /predictions/slow\n[1]",
]
--- error_code eval
[504, 200]
--- response_body_like eval
[
qr/^\{\n  "code": 504,\n  "type": "InternalServerException",\n  "message": "Model \\"slow\\" did not answer within response_timeout \(1 s\)"\n\}\n$/,
qr/^1\.0$/,
]
--- no_error_log
[alert]
--- timeout: 30



=== TEST 8: a client that goes away during forward breaks nothing
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar;
--- user_files eval
">>> fan.html\n" . '<!--# include virtual="/slowreq" -->'
. '<!--# include virtual="/fastreq" -->'
--- response_body_like: 504 Gateway Time-out(?s:.*)1\.0$
--- no_error_log
[alert]
--- timeout: 30



=== TEST 9: describe's jobQueueStatus counts the requests waiting
3 slow requests on one worker: one in forward, two queued when the
second describe arrives (limit_req holds it back 500 ms).
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar;
    limit_req_zone $server_name zone=later:1m rate=2r/s;
--- config eval
"    location /models { torchserve_management; }
    location = /later {
        limit_req zone=later burst=5;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/models/slow;
    }
" . main::post_location("/slow1500", "/predictions/slow", "[1500]")
--- user_files eval
main::fan_out("fan.html", 3, "/slow1500")
. ('<!--# include virtual="/later" -->' x 2)
--- response_body_like eval
qr/^(?:1500\.0\n?){3}\[.*"jobQueueStatus": \{\s*"remainingCapacity": 98,\s*"pendingRequests": 2\s*\}/s
--- no_error_log
[alert]
--- timeout: 30
