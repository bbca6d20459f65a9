# /predictions: answers equal Python's for the same model and input (1e-5),
# both methods, versions, output kinds and every archive layout.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3 + 2);

no_shuffle();
no_root_location();

add_block_defaults(
    http_config  => models_config("digits digits.mar input_shape=64",
                                  "digits digits_v2.mar version=2.0"),
    config       => "location / { torchserve_inference; }",
    no_error_log => "[error]");

run_tests();

__DATA__

=== TEST 1: POST a JSON nested list
--- request eval
"POST /predictions/digits\n" . main::sample(0)
--- response_body_filters eval
main::close_to("digits", 0)
--- response_body
close



=== TEST 2: PUT, as curl -T sends it
--- request eval
"PUT /predictions/digits\n" . main::sample(1)
--- response_body_filters eval
main::close_to("digits", 1)
--- response_body
close



=== TEST 3: {"data": ...} body
--- request eval
"POST /predictions/digits\n" . '{"data": ' . main::sample(2) . '}'
--- response_body_filters eval
main::close_to("digits", 2)
--- response_body
close



=== TEST 4: {"inputs": ...} body
--- request eval
"POST /predictions/digits\n" . '{"inputs": ' . main::sample(3) . '}'
--- response_body_filters eval
main::close_to("digits", 3)
--- response_body
close



=== TEST 5: the default version is the first configured
--- request eval
"POST /predictions/digits\n" . main::sample(4)
--- response_body_filters eval
main::close_to("digits", 4)
--- response_body
close



=== TEST 6: an explicit version 1.0
--- request eval
"POST /predictions/digits/1.0\n" . main::sample(4)
--- response_body_filters eval
main::close_to("digits", 4)
--- response_body
close



=== TEST 7: an explicit version 2.0 serves the other weights
--- request eval
"POST /predictions/digits/2.0\n" . main::sample(4)
--- response_body_filters eval
main::close_to("digits_v2", 4)
--- response_body
close



=== TEST 8: answers are JSON with TorchServe's layout (indent 2)
--- request eval
"POST /predictions/digits\n" . main::sample(0)
--- response_headers
Content-Type: application/json
--- response_body_like: ^\[\n  [0-9.e-]+,\n  [0-9.e-]+,\n(  [0-9.e-]+,\n){7}  [0-9.e-]+\n\]$



=== TEST 9: a model returning a tuple answers an array
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits_tuple digits_tuple.mar;
--- request eval
"POST /predictions/digits_tuple\n" . main::sample(1)
--- response_body_filters eval
main::close_to("digits_tuple", 1)
--- response_body
close



=== TEST 10: a model returning a dict answers an object
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits_dict digits_dict.mar;
--- request eval
"POST /predictions/digits_dict\n" . main::sample(2)
--- response_body_filters eval
main::close_to("digits_dict", 2)
--- response_body
close



=== TEST 11: a 1 MB body, kept in a temp file by nginx
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model stats stats.mar;
--- config
    location / {
        client_body_buffer_size 16k;
        torchserve_inference;
    }
--- request eval
"POST /predictions/stats\n" . main::fixture("big_input.json")
--- response_body_filters eval
main::close_to("stats_big")
--- response_body
close



=== TEST 12: a .tar.gz archive (entries under the model's folder)
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.tar.gz;
--- request eval
"POST /predictions/digits\n" . main::sample(3)
--- response_body_filters eval
main::close_to("digits", 3)
--- response_body
close



=== TEST 13: a no-archive folder
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits;
--- request eval
"POST /predictions/digits\n" . main::sample(2)
--- response_body_filters eval
main::close_to("digits", 2)
--- response_body
close



=== TEST 14: a .mar with stored (uncompressed) entries, by absolute path
--- http_config
    torchserve_model digits $TEST_NGINX_FIXTURES/digits_stored.mar;
--- request eval
"POST /predictions/digits\n" . main::sample(1)
--- response_body_filters eval
main::close_to("digits", 1)
--- response_body
close



=== TEST 15: intra-op threads and a named thread pool
--- main_config
    thread_pool torchserve threads=2;
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_thread_pool torchserve;
    torchserve_intra_op_threads 2;
--- request eval
"POST /predictions/digits\n" . main::sample(0)
--- response_body_filters eval
main::close_to("digits", 0)
--- response_body
close



=== TEST 16: glibc's malloc defaults (torchserve_malloc_keep off)
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_model digits2 digits.mar;
    torchserve_malloc_keep off;
--- request eval
"POST /predictions/digits2\n" . main::sample(3)
--- response_body_filters eval
main::close_to("digits", 3)
--- response_body
close



=== TEST 17: the body as {"inputs": ...}, decoded without a JSON tree, equals Python's
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_malloc_keep 256m;
--- request eval
"POST /predictions/digits\n{\"inputs\": " . main::sample(2) . "}"
--- response_body_filters eval
main::close_to("digits", 2)
--- response_body
close



=== TEST 18: TorchScript models with C handlers start no Python interpreter
--- request eval
"POST /predictions/digits\n" . main::sample(0)
--- response_body_like: ^\[\n  0\.99968
--- no_error_log eval
["[error]", "Python interpreter started"]
