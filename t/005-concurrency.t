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

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", <<'_EOC_');
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar input_shape=64;
_EOC_

    $block->set_value("config", <<"_EOC_"
    location = /fan.html {
        ssi on;
    }
_EOC_
        . post_location("/one", "/predictions/digits", $Sample) . <<"_EOC_");
    location / {
        torchserve_inference;
    }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: 200 sequential requests
--- user_files eval
">>> fan.html\n" . ('<!--# include virtual="/one" wait="yes" -->' x 200)
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
">>> fan.html\n" . ('<!--# include virtual="/one" -->' x 50)
--- request
GET /fan.html
--- response_body_filters eval
main::close_to_each("digits", 0, 50)
--- response_body
close
--- no_error_log
[error]
