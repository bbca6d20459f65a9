# torchserve_state under a burst of changes: one write at a time per
# worker process, changes made meanwhile coalesced into one more write;
# the file ends with the newest registry, whichever process wrote last.
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use TorchServeTest;
use Test::Nginx::Socket;

$ENV{TEST_NGINX_STATE_DIR} ||= tempdir(CLEANUP => 1);

master_on();
workers(2);
worker_connections(1024);
repeat_each(1);

plan tests => repeat_each() * (2 + 4 + 2);

no_shuffle();
no_root_location();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    torchserve_model_store $TEST_NGINX_FIXTURES;
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



=== TEST 2: 40 scale calls at once: a few writes, not 40
--- user_files eval
">>> fan.html\n" . ('<!--# include virtual="/scale2" -->' x 40)
--- request
GET /fan.html
--- response_body_like: ^(?:\{\n  "status": "Processing worker updates\.\.\."\n\}\n){40}$
--- grep_error_log eval
qr/torchserve_state "[^"]+": generation \d+ written/
--- grep_error_log_out eval
qr/\A(?:torchserve_state "[^"]+": generation \d+ written\n){1,8}\z/
--- no_error_log
[error]



=== TEST 3: after a restart, the file had the newest registry
--- request
GET /models/api
--- response_body_like: "minWorkers": 2,\n    "maxWorkers": 3,
