# torchserve_state under a burst of changes: one write at a time per
# worker process, changes made meanwhile coalesced into one more write,
# so that a burst of API calls does not queue a write each in the pool;
# the file ends with the newest registry.  The pool (one thread) is kept
# busy by a slow forward while the burst arrives.
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use TorchServeTest;
use Test::Nginx::Socket;

$ENV{TEST_NGINX_STATE_DIR} ||= tempdir(CLEANUP => 1);

master_on();
workers(1);
worker_connections(1024);
repeat_each(1);

plan tests => repeat_each() * (2 + 4 + 2);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("main_config", "    thread_pool tsone threads=1;\n");
    $block->set_value("http_config", <<'_EOC_');
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_thread_pool tsone;
    torchserve_model slow slow.mar;
    torchserve_state $TEST_NGINX_STATE_DIR/burst.json;
_EOC_

    $block->set_value("config", <<'_EOC_');
    location = /fan.html { ssi on; }
    location = /scale2 {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/models/api?min_worker=2&max_worker=3;
        proxy_method PUT;
    }
    location /models { torchserve_management; }
    location / { torchserve_inference; }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a model registered through the API
--- request
POST /models?url=digits_v2.mar&model_name=api&initial_workers=1
--- response_body_like: "status": "Model \\"api\\" Version: 2\.0 registered with 1 initial workers"



=== TEST 2: 40 scale calls at once while the pool is busy: two writes, not 40
The slow forward runs from 0.1 s to about 1.2 s; the fan-out's 40 scale
calls come at 0.5 s: the first write waits for the thread, the other
changes are coalesced into one more.
--- user_files eval
main::fan_out("fan.html", 40, "/scale2")
--- init
main::requests_in_background([0.1,
    "POST /predictions/slow HTTP/1.0\r\nContent-Length: 6\r\n\r\n[1500]"]);
--- raw_request eval
["GET /fan.html HTTP/1.1\r\n", "Host: localhost\r\nConnection: close\r\n\r\n"]
--- raw_request_middle_delay: 0.5
--- response_body_like: ^(?:\{\n  "status": "Processing worker updates\.\.\."\n\}\n){40}$
--- grep_error_log eval
qr/torchserve_state "[^"]+": generation \d+ written/
--- grep_error_log_out eval
qr/\A(?:torchserve_state "[^"]+": generation \d+ written\n){2,3}\z/
--- no_error_log
[error]
--- wait: 2
--- timeout: 20



=== TEST 3: after a restart, the file had the newest registry
--- request
GET /models/api
--- response_body_like: "minWorkers": 2,\n    "maxWorkers": 3,
