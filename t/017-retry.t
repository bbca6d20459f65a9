# A failed load is not final: the reconcile loop tries it again with a
# back-off, and a scale request tries it at once and answers what it
# met.  The failure here is the thread pool refusing the load (its one
# thread and one queue slot busy with a slow model), which goes away by
# itself once the slow forwards end.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (2 * 4 + 3);

no_shuffle();
no_root_location();

our $S0 = sample(0);

# one configuration for every block: the pool of one thread and one queue
# slot, the slow model that fills it, digits registered with no worker
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("main_config", <<'_EOC_');
    thread_pool tsone threads=1 max_queue=1;
_EOC_

    $block->set_value("http_config", <<'_EOC_');
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_thread_pool tsone;
    torchserve_model slow slow.mar workers=2;
    torchserve_model digits digits.mar workers=0;
    limit_req_zone $server_name zone=later:1m rate=2r/s;
_EOC_

    $block->set_value("config", <<"_EOC_"
    location = /fan.html { ssi on; }
    location /models { torchserve_management; }
    location = /ping-first {
        limit_req zone=later burst=5;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/ping;
    }
    location = /scale1-later {
        limit_req zone=later burst=5;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/models/digits?min_worker=1&synchronous=true;
        proxy_method PUT;
    }
_EOC_
        . post_location("/slow3000", "/predictions/slow", "[3000]")
        . "    location / { torchserve_inference; }\n");

    $block->set_value("user_files", ">>> fan.html\n"
        . '<!--# include virtual="/ping-first" -->'
        . ('<!--# include virtual="/slow3000" -->' x 2)
        . '<!--# include virtual="/scale1-later" -->');
});

run_tests();

__DATA__

=== TEST 1: a refused load fails the scale; a later scale retries it, and predictions and /ping succeed
The scale at 0.5 s fails; the one after the fan-out (the pool free
again) loads the model even though the count does not change.
--- request eval
[
"GET /fan.html",
"PUT /models/digits?min_worker=1&synchronous=true",
"POST /predictions/digits\n$::S0",
"GET /ping",
]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[
qr/3000\.0.*3000\.0\{\n  "code": 500,\n  "type": "InternalServerException",\n  "message": "Failed to start workers for model digits version: 1\.0 \(the thread pool refused the load task\)"/s,
qr/"status": "Workers scaled to 1 for model: digits"/,
qr/^\[\n  0\.99968/,
qr/"status": "Healthy"/,
]
--- timeout: 30



=== TEST 2: the reconcile loop retries a failed load by itself, with a back-off
Nothing asks again after the failed scale: the loop's retry, 1 s after
the failure, shows in the log.
--- request
GET /fan.html
--- response_body_like: "message": "Failed to start workers for model digits version: 1\.0 \(the thread pool refused the load task\)"
--- wait: 3
--- error_log
retrying its load, 1000 ms after it failed
--- timeout: 30
