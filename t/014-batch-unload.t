# A model unregistered while a request for it is still arriving, whose
# batch the thread pool then refuses (its queue is full): the request
# gets its 503, the model is freed once, and nothing reads it after.
# `make test-valgrind` runs this file with nginx under valgrind, where
# the use-after-free this guards against shows as an invalid read.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4);

no_shuffle();
no_root_location();

our $S0 = sample(0);
our $Len = length $S0;
our $Half = int($Len / 2);
our $Slowdown = $ENV{TS_TEST_SLOWDOWN} || 1;
# the slow model's forward must outlast the body's delay, and end before
# the block does (nginx's thread pool cannot stop with its queue full)
our $Slow = $ENV{TS_TEST_SLOW_ROUNDS} || 3000;
our $SlowReq = "POST /predictions/slow HTTP/1.0\r\nContent-Length: "
    . (length($Slow) + 2) . "\r\n\r\n[$Slow]";

run_tests();

__DATA__

=== TEST 1: unregistered mid-body, pool full: 503, and the model freed safely
The slow model (workers=2) fills the one thread and the one queue slot;
digits is deleted while its request's body is still coming.
--- main_config
    thread_pool tsone threads=1 max_queue=1;
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_thread_pool tsone;
    torchserve_model slow slow.mar workers=2;
    torchserve_model digits digits.mar;
--- config
    # freed at once when answered, as a keepalive request is
    lingering_close off;
    location /models { torchserve_management; }
    location / { torchserve_inference; }
--- init
main::requests_in_background(
    [0.3, $main::SlowReq],
    [0.4, $main::SlowReq],
    [0.8, "DELETE /models/digits HTTP/1.0\r\n\r\n"],
);
--- raw_request eval
[
"POST /predictions/digits HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Content-Length: $::Len\r\n\r\n" . substr($::S0, 0, $::Half),
substr($::S0, $::Half),
]
--- raw_request_middle_delay eval
1.5 * $::Slowdown
--- error_code: 503
--- response_body_like: "message": "the thread pool's queue is full"
--- error_log
torchserve: model "digits" version "1.0" unregistered
--- no_error_log
[alert]
--- wait eval
$ENV{TS_TEST_WAIT} || 4
--- timeout eval
20 * $::Slowdown
