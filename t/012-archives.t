# Archives written by archive_tool (our torch-model-archiver) in every
# format, model-config.yaml defaults and what overrides them, and the
# MNIST eager model exported with --export-torchscript, served end to end.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (3 * 11 + 3 * 3 + 2 + 1);

no_shuffle();
no_root_location();

our $S0 = sample(0);

add_block_defaults(
    config       => $ApiLocations,
    no_error_log => "[error]");

run_tests();

__DATA__

=== TEST 1: archive_tool's default format (zip, deflate)
--- http_config
    torchserve_model digits $TEST_NGINX_FIXTURES/at_default/digits.mar;
--- request eval
"POST /predictions/digits\n$::S0"
--- response_body_filters eval
main::close_to("digits", 0)
--- response_body
close



=== TEST 2: zip-store
--- http_config
    torchserve_model digits $TEST_NGINX_FIXTURES/at_zip_store/digits.mar;
--- request eval
"POST /predictions/digits\n$::S0"
--- response_body_filters eval
main::close_to("digits", 0)
--- response_body
close



=== TEST 3: tgz (entries under the model's folder)
--- http_config
    torchserve_model digits $TEST_NGINX_FIXTURES/at_tgz/digits.tar.gz;
--- request eval
"POST /predictions/digits\n$::S0"
--- response_body_filters eval
main::close_to("digits", 0)
--- response_body
close



=== TEST 4: no-archive (a folder, with nested extra files)
--- http_config
    torchserve_model digits $TEST_NGINX_FIXTURES/at_no_archive/digits;
--- request eval
"POST /predictions/digits\n$::S0"
--- response_body_filters eval
main::close_to("digits", 0)
--- response_body
close



=== TEST 5: model-config.yaml sets the defaults of a configured model
--- http_config
    torchserve_model digits $TEST_NGINX_FIXTURES/at_config/digits.mar;
--- request
GET /models/digits
--- response_body_like: "minWorkers": 2,\n    "maxWorkers": 3,\n    "batchSize": 4,\n    "maxBatchDelay": 50,\n    "responseTimeout": 30,(?s:.*)"remainingCapacity": 7,
--- error_log eval
qr/\[warn\] .*torchserve: "\S+at_config\/digits\.mar": model-config\.yaml: line 7, column 12: invalid deviceIds: none, should be list of integer \(ignored\)/



=== TEST 6: nginx.conf's parameters override model-config.yaml
--- http_config
    torchserve_model digits $TEST_NGINX_FIXTURES/at_config/digits.mar workers=1;
--- request
GET /models/digits
--- response_body_like: "minWorkers": 1,\n    "maxWorkers": 3,\n    "batchSize": 4,



=== TEST 7: registered through the API: model-config.yaml, then the API's parameters
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
--- request eval
[
"POST /models?url=at_config/digits.mar",
"POST /models?url=at_config/digits.mar&model_name=other&initial_workers=1&batch_size=8&response_timeout=5",
"GET /models/other",
]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[
qr/"status": "Model \\"digits\\" Version: 1\.0 registered with 2 initial workers"/,
qr/"status": "Model \\"other\\" Version: 1\.0 registered with 1 initial workers"/,
qr/"minWorkers": 1,\n    "maxWorkers": 3,\n    "batchSize": 8,\n    "maxBatchDelay": 50,\n    "responseTimeout": 5,/,
]



=== TEST 8: MNIST: eager model.py + state_dict, exported by archive_tool --export-torchscript
--- http_config
    torchserve_model mnist $TEST_NGINX_FIXTURES/at_mnist/mnist.mar input_shape=1,28,28;
--- request eval
"POST /predictions/mnist\n" . main::mnist_sample(0)
--- response_body_filters eval
main::close_to("mnist", 0)
--- response_body
close



=== TEST 9: the same MNIST archive without --export-torchscript is refused by nginx -t
--- http_config
    torchserve_model mnist $TEST_NGINX_FIXTURES/at_mnist_eager/mnist.mar;
--- must_die
--- error_log eval
qr/torchserve_model "mnist" .*eager-mode model.*archive_tool --export-torchscript/



=== TEST 10: ... and by the management API
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
--- request
POST /models?url=at_mnist_eager/mnist.mar
--- error_code: 400
--- response_body_like: "type": "InvalidModelException",\n  "message": ".*eager-mode model.*archive_tool --export-torchscript
--- no_error_log
[crit]



=== TEST 11: a second MNIST input, answered as Python does
--- http_config
    torchserve_model mnist $TEST_NGINX_FIXTURES/at_mnist/mnist.mar;
--- request eval
"POST /predictions/mnist\n" . main::mnist_sample(2)
--- response_body_filters eval
main::close_to("mnist", 2)
--- response_body
close



=== TEST 12: the management API refuses a serializedFile that is not TorchScript, as nginx -t does
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
--- request
POST /models?url=at_not_torchscript/notts.mar
--- error_code: 400
--- response_body_like: "type": "InvalidModelException",\n  "message": ".*serializedFile \\"legacy\.pt\\" is not a TorchScript file \(not a zip archive\)
--- no_error_log
[crit]



=== TEST 13: ... and a torch.save state_dict without modelFile, as eager
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
--- request
POST /models?url=at_state_dict/sdonly.mar
--- error_code: 400
--- response_body_like: "type": "InvalidModelException",\n  "message": ".*eager-mode model \(a state_dict in mnist_sd\.pt, no TorchScript code\).*archive_tool --export-torchscript
--- no_error_log
[crit]
