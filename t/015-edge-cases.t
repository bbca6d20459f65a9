# Edge cases of serving under load: a model scaled to 0 stops taking new
# requests while the ones in flight finish; response_timeout counts from
# the moment a request is queued; every prediction is counted, whatever
# its outcome.  Concurrent requests come from nginx
# itself (SSI includes proxied back); limit_req holds one back 500 ms.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 3);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("config",
        ($block->config // '')
        . "    location = /fan.html { ssi on; }\n"
        . "    location /models { torchserve_management; }\n"
        . post_location("/slow2000", "/predictions/slow", "[2000]")
        . post_location("/slow2500", "/predictions/slow", "[2500]")
        . post_location("/slow4000", "/predictions/slow", "[4000]")
        . post_location("/fast", "/predictions/slow", "[1]")
        . post_location("/abort2500", "/predictions/slow", "[2500]",
                        "proxy_read_timeout 500ms;")
        . "    location /metrics { torchserve_metrics; }\n"
        . <<"_EOC_");
    # the first request through the limiter passes, each next one waits
    # 500 ms more
    location = /ping-first {
        limit_req zone=later burst=5;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/ping;
    }
    location = /fast-later {
        limit_req zone=later burst=5;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/predictions/slow;
        proxy_method POST;
        proxy_pass_request_body off;
        proxy_set_body '[1]';
    }
    location = /scale0-later {
        limit_req zone=later burst=5;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/models/slow?min_worker=0&synchronous=true;
        proxy_method PUT;
    }
    location / { torchserve_inference; }
_EOC_

    $block->set_value("request", "GET /fan.html")
        unless defined $block->request;
});

run_tests();

__DATA__

=== TEST 1: scaled to 0 under load: a new request gets 503, the one in flight its answer
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar;
    limit_req_zone $server_name zone=later:1m rate=2r/s;
--- user_files eval
">>> fan.html\n" . '<!--# include virtual="/ping-first" -->'
. '<!--# include virtual="/slow2000" -->'
. '<!--# include virtual="/scale0-later" -->'
. '<!--# include virtual="/fast-later" -->'
--- response_body_like eval
qr/^\{\n  "status": "Healthy"\n\}\n2000\.0\{\n  "status": "Workers scaled to 0 for model: slow"\n\}\n\{\n  "code": 503,\n  "type": "ServiceUnavailableException",\n  "message": "Model \\"slow\\" has no worker to serve inference request\./
--- no_error_log
[alert]
--- timeout: 30



=== TEST 2: response_timeout runs from the queue: a request waiting behind a slow forward gets 504 too
The slow forward (about 3 s) holds the one worker slot; the fast request
queues behind it at 0.5 s and times out at 1.5 s.
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar response_timeout=1s;
    limit_req_zone $server_name zone=later:1m rate=2r/s;
--- user_files eval
">>> fan.html\n" . '<!--# include virtual="/ping-first" -->'
. '<!--# include virtual="/slow4000" -->'
. '<!--# include virtual="/fast-later" -->'
--- response_body_like eval
qr/^\{\n  "status": "Healthy"\n\}\n(?:\{\n  "code": 504,\n  "type": "InternalServerException",\n  "message": "Model \\"slow\\" did not answer within response_timeout \(1 s\)"\n\}\n){2}$/
--- no_error_log
[alert]
--- timeout: 30



=== TEST 3: every prediction counted: an answer, a 504 and a client that left
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar workers=3 response_timeout=1s;
    limit_req_zone $server_name zone=later:1m rate=2r/s;
--- user_files eval
">>> fan.html\n" . '<!--# include virtual="/slow2500" -->'
. '<!--# include virtual="/fast" -->'
. '<!--# include virtual="/abort2500" -->'
--- request eval
["GET /fan.html",
"GET /metrics?name[]=ts_inference_requests_total&name[]=Requests2XX&name[]=Requests4XX&name[]=Requests5XX"]
--- error_code eval
[200, 200]
--- response_body_like eval
[
qr/"code": 504,.*1\.0<html>.*504 Gateway Time-out/s,
qr/^Requests2XX\{[^\n]+\} 1\.0\n.*^Requests4XX\{[^\n]+\} 1\.0\n.*^Requests5XX\{[^\n]+\} 1\.0\n.*^ts_inference_requests_total\{model_name="slow",model_version="default",hostname="[^"]+",\} 3\.0\n/ms,
]
--- no_error_log
[alert]
--- timeout: 30



=== TEST 4: $torchserve_queue_time counts the wait for a free worker slot
The fast request queues at 0.5 s behind the slow forward (about 3 s) that
holds the one slot: its queue time is that wait, not the moment between
its batch's post and its start in a thread.
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar;
    limit_req_zone $server_name zone=later:1m rate=2r/s;
    log_format times "queue_time=$torchserve_queue_time inference_time=$torchserve_inference_time";
    access_log logs/error.log times;
--- user_files eval
">>> fan.html\n" . '<!--# include virtual="/ping-first" -->'
. '<!--# include virtual="/slow4000" -->'
. '<!--# include virtual="/fast-later" -->'
--- response_body_like eval
qr/^\{\n  "status": "Healthy"\n\}\n4000\.01\.0$/
--- error_log eval
qr/queue_time=(?:[1-9]\d*|0\.[2-9]\d*)\.?\d* inference_time=0\.0/
--- timeout: 30
