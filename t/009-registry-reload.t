# The shared zone survives nginx -s reload: a model registered through
# the API stays registered and keeps serving through reloads, with no
# failed request while requests keep coming.
BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1; }

use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

master_on();
workers(2);
worker_connections(1024);
repeat_each(1);

plan tests => repeat_each() * (3 * 6 + 1);

no_shuffle();
no_root_location();

our $S0 = sample(0);

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", models_config("digits digits.mar"))
        unless defined $block->http_config;

    $block->set_value("config", <<"_EOC_"
    location /models { torchserve_management; }
    location /metrics { torchserve_metrics; }
    location = /fan.html { ssi on; }
_EOC_
        . post_location("/one", "/predictions/api", $::S0) . <<"_EOC_");
    location / { torchserve_inference; }
_EOC_

    $block->set_value("user_files", fan_out("fan.html", 2000, "/one", 1));

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[error]");
    }
});

run_tests();

__DATA__

=== TEST 1: register through the API
--- request
POST /models?url=digits_v2.mar&model_name=api&initial_workers=1
--- response_body_like: "status": "Model \\"api\\" Version: 2\.0 registered with 1 initial workers"



=== TEST 2: still registered and served after a reload
--- request eval
"POST /predictions/api\n$::S0"
--- response_body_like: ^\[\n  0\.979980



=== TEST 3: 2000 requests in a row while nginx reloads three times
--- request eval
main::reload_while_serving(qr{POST /predictions/api}, 3, 0.5);
"GET /fan.html"
--- timeout: 90
--- response_body_like: ^(?:\[\n  0\.979980[^\]]*\]){2000}$
--- error_log
reconfiguring



=== TEST 4: still registered after the reloads
--- request
GET /models/api
--- response_body_like: "modelName": "api",\n    "modelVersion": "2\.0"



=== TEST 5: the counters survived the reloads: every request counted
--- request
GET /metrics?name[]=ts_inference_requests_total
--- response_body_like: \nts_inference_requests_total\{model_name="api",model_version="default",hostname="[^"]+",\} 2001\.0\n$



=== TEST 6: nginx.conf's models are re-synced at reload, the API's stay
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model tuple digits_tuple.mar;
--- request
GET /models
--- response_body
{
  "models": [
    {
      "modelName": "api",
      "modelUrl": "digits_v2.mar"
    },
    {
      "modelName": "tuple",
      "modelUrl": "digits_tuple.mar"
    }
  ]
}
