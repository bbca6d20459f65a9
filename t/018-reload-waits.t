# nginx -s reload while requests wait on the thread pool without a
# forward of their own: a synchronous registration, and a prediction
# parked on a model its process is still loading.  The exiting worker
# process keeps them until they are answered.  The pool (one thread) is
# busy with a slow forward from 0.1 s to about 2.4 s; the block's request
# comes after it.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

master_on();
workers(1);
repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

no_shuffle();
no_root_location();

our $S0 = sample(0);
our $Len = length $S0;
our $Slow = "POST /predictions/slow HTTP/1.0\r\nContent-Length: 6\r\n\r\n[3000]";

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("main_config", "    thread_pool tsone threads=1;\n");
    $block->set_value("http_config", <<'_EOC_');
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_thread_pool tsone;
    torchserve_model slow slow.mar;
    torchserve_model digits digits.mar workers=0;
_EOC_
    $block->set_value("config", <<'_EOC_');
    location /models { torchserve_management; }
    location / { torchserve_inference; }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a synchronous registration across a reload gets its answer
--- init
main::requests_in_background([0.1, $main::Slow], [1.6, "HUP"]);
--- raw_request eval
[
"POST /models?url=digits_v2.mar&model_name=late&initial_workers=1 HTTP/1.1\r\n",
"Host: localhost\r\nConnection: close\r\n\r\n",
]
--- raw_request_middle_delay: 1
--- response_body_like: "status": "Model \\"late\\" Version: 2\.0 registered with 1 initial workers"
--- error_log
reconfiguring
--- timeout: 30



=== TEST 2: a prediction parked on a loading model across a reload gets its answer
A model registered through the API with 0 workers (a reload keeps its
scale; nginx.conf's own models go back to their workers= at a reload) is
scaled at 0.2 s: its load waits behind the slow forward (to 2.4 s); the
prediction at about 1 s parks on it; the reload comes at 1.6 s.  (The
block's own request may start up to the worker's start-up time before
the background ones: hence the margins.)
--- init
main::requests_in_background(
    [0.05, "POST /models?url=digits.mar&model_name=parked&initial_workers=0 HTTP/1.0\r\n\r\n"],
    [0.1, $main::Slow],
    [0.2, "PUT /models/parked?min_worker=1 HTTP/1.0\r\n\r\n"],
    [1.6, "HUP"],
);
--- raw_request eval
[
"POST /predictions/parked HTTP/1.1\r\n",
"Host: localhost\r\nConnection: close\r\nContent-Length: $::Len\r\n\r\n$::S0",
]
--- raw_request_middle_delay: 1.2
--- response_body_like: ^\[\n  0\.99968
--- error_log
reconfiguring
--- timeout: 30
