# Many requests on 2 worker processes: 200 one after another and 50 at
# once, fanned out by nginx itself (SSI includes proxied back to the
# server: real connections, real HTTP); every answer equals Python's.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

master_on();
workers(2);
worker_connections(1024);
repeat_each(1);
plan tests => repeat_each() * blocks() * 3;

no_shuffle();
no_root_location();

our $Sample = sample(0);

add_block_defaults(
    http_config => models_config("digits digits.mar input_shape=64"),
    config      => "    location = /fan.html { ssi on; }\n"
                   . post_location("/one", "/predictions/digits", $Sample)
                   . "    location / { torchserve_inference; }\n");

run_tests();

__DATA__

=== TEST 1: 200 sequential requests
--- user_files eval
main::fan_out("fan.html", 200, "/one", 1)
--- request
GET /fan.html
--- response_body_filters eval
main::close_to_each("digits", 0, 200)
--- response_body
close
--- no_error_log
[error]



=== TEST 2: 50 concurrent requests
--- user_files eval
main::fan_out("fan.html", 50, "/one")
--- request
GET /fan.html
--- response_body_filters eval
main::close_to_each("digits", 0, 50)
--- response_body
close
--- no_error_log
[error]
