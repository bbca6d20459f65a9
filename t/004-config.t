# nginx -t refuses what cannot be served, naming the directive, the file
# and the line.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);
plan tests => repeat_each() * blocks() * 2;

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a missing archive
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model nothing nothing.mar;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_model "nothing": .*nothing\.mar.* in \S+nginx\.conf:\d+/



=== TEST 2: an eager-mode archive names --export-torchscript
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model eager eager.mar;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_model "eager" .*TorchScript.*archive_tool --export-torchscript.* in \S+nginx\.conf:\d+/



=== TEST 3: a Python handler whose file is not in the archive
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model pymissing pyhandler_missing.mar;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_model "pymissing" \(\S+pyhandler_missing\.mar\): the handler file "not_here\.py" is not in the archive in \S+nginx\.conf:\d+/



=== TEST 4: handler= overrides the manifest's and must be one we know
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar handler=no_such_handler;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/unknown handler "no_such_handler": use a handler\.py, a C handler \(tensor, image_classifier, image_segmenter, object_detector\) or one of TorchServe's: base_handler, image_classifier/



=== TEST 5: the same name and version twice
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_model digits digits_stored.mar;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_model "digits" version "1\.0" is duplicate in \S+nginx\.conf:\d+/



=== TEST 6: an unknown parameter
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar colour=blue;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/invalid parameter "colour=blue" of model "digits" in \S+nginx\.conf:\d+/



=== TEST 7: an undefined thread pool
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_thread_pool nosuchpool;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/unknown thread pool "nosuchpool" in \S+nginx\.conf:\d+/



=== TEST 8: an invalid device
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar device=tpu;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/invalid device "tpu": use cpu, cuda or cuda:N/



=== TEST 9: a directory that is not a model archive
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits /var/empty-nonexistent-dir;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_model "digits": .*empty-nonexistent-dir/



=== TEST 10: torchserve_malloc_keep takes a size of at least 1m, or off
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_malloc_keep 100k;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_malloc_keep "100k" is invalid: a size of at least 1m, or off in \S+nginx\.conf:\d+/



=== TEST 11: torchserve_state whose folder is not a folder
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_state $TEST_NGINX_FIXTURES/digits.mar/state.json;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_state "\S+digits\.mar\/state\.json": its folder "\S+digits\.mar" is not a folder/



=== TEST 12: a serializedFile that is not TorchScript (no modelFile to say so)
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model notts at_not_torchscript/notts.mar;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_model "notts" \(\S+notts\.mar\): .*serializedFile "legacy\.pt" is not a TorchScript file \(not a zip archive\) in \S+nginx\.conf:\d+/



=== TEST 13: a torch.save state_dict without modelFile is an eager-mode model
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model sdonly at_state_dict/sdonly.mar;
--- config
    location / { torchserve_inference; }
--- must_die
--- error_log eval
qr/torchserve_model "sdonly" .*eager-mode model \(a state_dict in mnist_sd\.pt, no TorchScript code\).*archive_tool --export-torchscript.* in \S+nginx\.conf:\d+/
