# nginx -s reload keeps service: requests keep coming (a fan-out of
# sequential requests through nginx itself) while the master is sent HUP
# three times; every answer is right, and a request right after a reload
# succeeds.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

master_on();
workers(2);
worker_connections(1024);
repeat_each(1);
plan tests => repeat_each() * (blocks() * 3 + 1);

no_shuffle();
no_root_location();

our $Sample = sample(1);

add_block_defaults(
    http_config => models_config("digits digits.mar input_shape=64"),
    config      => "    location = /fan.html { ssi on; }\n"
                   . post_location("/one", "/predictions/digits", $Sample)
                   . "    location / { torchserve_inference; }\n",
    user_files  => fan_out("fan.html", 3000, "/one", 1));

run_tests();

__DATA__

=== TEST 1: served before the reloads
--- request eval
"POST /predictions/digits\n" . main::sample(1)
--- response_body_filters eval
main::close_to("digits", 1)
--- response_body
close
--- no_error_log
[error]



=== TEST 2: 3000 requests in a row while nginx reloads three times
--- request eval
main::reload_while_serving(qr{POST /predictions/digits}, 3, 0.5);
"GET /fan.html"
--- timeout: 60
--- response_body_filters eval
main::close_to_each("digits", 1, 3000)
--- response_body
close
--- no_error_log
[error]
--- error_log
reconfiguring



=== TEST 3: a request right after the reloads
--- request eval
"POST /predictions/digits\n" . main::sample(1)
--- response_body_filters eval
main::close_to("digits", 1)
--- response_body
close
--- no_error_log
[error]
