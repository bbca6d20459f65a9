# Adaptive batching (#13): with batch_policy adaptive (the default), a
# model's queue is flushed at once while one of its `workers` slots is
# free, so a lone request never waits for companions; requests gather
# only while every slot is busy, and then run together; a batch posted
# while every pool thread is busy keeps taking the requests that arrive
# until a thread starts it.  batch_policy delay keeps TorchServe's wait
# of max_batch_delay.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

worker_connections(1024);
repeat_each(1);

plan tests => repeat_each() * (blocks() * 2 + 40);

no_shuffle();
no_root_location();

our $S0 = sample(0);

add_block_defaults(no_error_log => "[crit]");

run_tests();

__DATA__

=== TEST 1: adaptive, one request at a time: every batch has one request, and none waits max_batch_delay (2 s)
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=8 max_batch_delay=2s;
--- config
    location / {
        torchserve_inference;
        add_header X-Batch-Size $torchserve_batch_size always;
        add_header X-Queue-Time $torchserve_queue_time always;
    }
--- request eval
[ ("POST /predictions/digits\n$::S0") x 3 ]
--- response_headers_like eval
[ ("X-Batch-Size: 1\nX-Queue-Time: 0\\.0[0-4]\\d*") x 3 ]
--- response_body_like eval
[ (qr/^\[\n  0\.99968/) x 3 ]
--- timeout: 3



=== TEST 2: adaptive, the only slot busy: the requests that arrive meanwhile form one batch, without waiting max_batch_delay (5 s): 9 requests, 2 batches (the first may take some of them in before its thread starts it)
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar batch_size=8 max_batch_delay=5s;
--- config eval
"    location = /fan.html { ssi on; }\n"
. main::post_location("/slow300", "/predictions/slow", "[300]")
. "    location / { torchserve_inference; }\n"
--- user_files eval
main::fan_out("fan.html", 9, "/slow300")
--- request
GET /fan.html
--- response_body eval
"300.0" x 9
--- grep_error_log eval
qr/torchserve: model "slow": a batch \(\d+\) is done/
--- grep_error_log_out eval
qr/\A(?:torchserve: model "slow": a batch \([1-8]\) is done\n){2}\z/
--- timeout: 4



=== TEST 3: the batch sizes that formed, in ts_batch_size (9 predictions in two batches of k and 9 - k: the sum of their sizes is k*k + (9-k)*(9-k))
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_zone torchserve:1m;
    torchserve_model slow slow.mar batch_size=8 max_batch_delay=5s;
--- config eval
"    location = /fan.html { ssi on; }\n"
. main::post_location("/slow300", "/predictions/slow", "[300]")
. "    location /metrics { torchserve_metrics; }\n"
. "    location / { torchserve_inference; }\n"
--- user_files eval
main::fan_out("fan.html", 9, "/slow300")
--- request eval
[ "GET /fan.html", "GET /metrics?name[]=ts_batch_size" ]
--- response_body_like eval
[ qr/^(?:300\.0){9}$/,
  qr/ts_batch_size_bucket\{model_name="slow",model_version="default",hostname="[^"]*",le="1\.0",\} [01]\.0\n(?s:.*)le="8\.0",\} 9\.0\n(?s:.*)ts_batch_size_count\{[^}]*\} 9\.0\nts_batch_size_sum\{[^}]*\} (?:65|53|45|41)\.0\n/ ]
--- timeout: 4



=== TEST 4: batch_policy=delay is TorchServe's: a lone request waits max_batch_delay (300 ms, nginx's timer: a few ms either way) for companions
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=8 max_batch_delay=300ms batch_policy=delay;
--- config
    location / {
        torchserve_inference;
        add_header X-Queue-Time $torchserve_queue_time always;
    }
--- request eval
"POST /predictions/digits\n$::S0"
--- response_headers_like
X-Queue-Time: 0\.(?:2[5-9]|[3-9])\d*
--- response_body_like: ^\[\n  0\.99968



=== TEST 5: describe shows the policy; the API takes batch_policy and refuses a wrong one
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
--- config
    location /models { torchserve_management; }
--- request eval
[ "GET /models/digits",
  "POST /models?url=digits_v2.mar&batch_size=4&batch_policy=delay",
  "GET /models/digits/2.0",
  "POST /models?url=digits_v2.mar&model_name=other&batch_policy=sometimes" ]
--- error_code eval
[ 200, 200, 200, 400 ]
--- response_body_like eval
[ qr/"batchPolicy": "adaptive"/,
  qr/registered/,
  qr/"batchSize": 4,.*"batchPolicy": "delay"/s,
  qr/"message": "Invalid batch_policy value: sometimes \(adaptive or delay\)"/ ]



=== TEST 6: nginx.conf refuses a batch_policy it does not know
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_policy=fast;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log
invalid batch_policy "fast" of model "digits": adaptive or delay



=== TEST 7: adaptive, one pool thread and two slots: the batch that waits for the thread keeps taking the requests that arrive until the thread starts it (9 requests: 2 batches, where a batch fixed when posted would make 3)
--- main_config
    thread_pool one threads=1;
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_thread_pool one;
    torchserve_model slow slow.mar workers=2 batch_size=8 max_batch_delay=5s;
--- config eval
"    location = /fan.html { ssi on; }\n"
. main::post_location("/slow300", "/predictions/slow", "[300]")
. "    location / { torchserve_inference; }\n"
--- user_files eval
main::fan_out("fan.html", 9, "/slow300")
--- request
GET /fan.html
--- response_body eval
"300.0" x 9
--- grep_error_log eval
qr/torchserve: model "slow": a batch \(\d+\) is done/
--- grep_error_log_out eval
qr/\A(?:torchserve: model "slow": a batch \([1-8]\) is done\n){2}\z/
--- timeout: 4



=== TEST 8: adaptive, free slots and idle threads: four requests that come together run side by side, each in its own batch, not as one batch on one thread
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar workers=4 batch_size=8 max_batch_delay=5s;
--- config eval
"    location = /fan.html { ssi on; }\n"
. main::post_location("/slow300", "/predictions/slow", "[300]")
. "    location / { torchserve_inference; }\n"
--- user_files eval
main::fan_out("fan.html", 4, "/slow300")
--- request
GET /fan.html
--- response_body eval
"300.0" x 4
--- grep_error_log eval
qr/torchserve: model "slow": a batch \(\d+\) is done/
--- grep_error_log_out
torchserve: model "slow": a batch (1) is done
torchserve: model "slow": a batch (1) is done
torchserve: model "slow": a batch (1) is done
torchserve: model "slow": a batch (1) is done
--- timeout: 4



=== TEST 9: a request answered 504 while its batch still waits for a thread is not run: the batch skips it (one pool thread, two slots, two 1.5 s requests, response_timeout 1 s)
--- main_config
    thread_pool one threads=1;
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_thread_pool one;
    torchserve_model slow slow.mar workers=2 batch_size=8 response_timeout=1s;
--- config eval
"    location = /fan.html { ssi on; }\n"
. main::post_location("/slow1500", "/predictions/slow", "[1500]")
. "    location / { torchserve_inference; }\n"
--- user_files eval
main::fan_out("fan.html", 2, "/slow1500")
--- request
GET /fan.html
--- response_body_like: ^(?:\{\n  "code": 504,\n  "type": "InternalServerException",\n  "message": "Model \\"slow\\" did not answer within response_timeout \(1 s\)"\n\}\n){2}$
--- grep_error_log eval
qr/torchserve: model "slow": (?:request \d+ of a waiting batch skipped|a batch \(\d+\) is done)/
--- grep_error_log_out
torchserve: model "slow": request 0 of a waiting batch skipped
torchserve: model "slow": a batch (1) is done
torchserve: model "slow": a batch (1) is done
--- error_log
no answer within response_timeout (1000 ms)
--- wait: 2
--- timeout: 5



=== TEST 10: the counters of a batch's answers reach the shared zone in one locked fold, not one per prediction (9 predictions: a batch of 1, then a batch of 8: two folds)
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model slow slow.mar batch_size=8 max_batch_delay=5s;
--- config eval
"    location = /fan.html { ssi on; }\n"
. main::post_location("/slow300", "/predictions/slow", "[300]")
. "    location / { torchserve_inference; }\n"
--- user_files eval
main::fan_out("fan.html", 9, "/slow300")
--- request
GET /fan.html
--- response_body eval
"300.0" x 9
--- grep_error_log eval
qr/torchserve: model "slow": counters folded/
--- grep_error_log_out
torchserve: model "slow": counters folded
torchserve: model "slow": counters folded
--- wait: 0.5
--- timeout: 4
