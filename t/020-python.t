# Python handlers (#11): TorchServe archives with a handler.py or an eager
# model.py, packed by archive_tool with the tutorials' command lines
# (t/python/make_python_fixtures.py), served by the interpreter each worker
# process embeds.  Every answer is compared byte for byte with the same
# computation written directly in torch/torchvision by the fixture script.
use FindBin;
use lib $FindBin::Bin;
use MIME::Base64 qw(encode_base64);
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 34);

no_shuffle();
no_root_location();

our $Png = fixture('mnist_digit.png');
our $Jpeg = fixture('densenet_input.jpg');
our $Iso = fixture('iso_input.json');

# a multipart/form-data body with one file field, as curl -F sends it
sub main::multipart {
    my ($field, $file, $type, $data) = @_;
    return "--XyZ\r\nContent-Disposition: form-data; name=\"$field\"; "
           . "filename=\"$file\"\r\nContent-Type: $type\r\n\r\n$data\r\n"
           . "--XyZ--\r\n";
}

add_block_defaults(
    config       => "location / { torchserve_inference; }",
    no_error_log => "[crit]");

run_tests();

__DATA__

=== TEST 1: MNIST: ImageClassifier subclass on an eager model.py + state_dict, curl -T test.png
--- http_config eval
main::models_config("mnist mnist.mar")
--- request eval
"PUT /predictions/mnist\n$::Png"
--- response_headers
Content-Type: application/json
--- response_body eval
main::python_expected("mnist", "body")
--- error_log
the embedded Python interpreter started in this worker process for model "mnist"



=== TEST 2: greedy_time: no serialized file, a BaseHandler subclass with numpy and scipy, a JSON body
--- http_config eval
main::models_config("greedy_time greedy_time.mar")
--- more_headers
Content-Type: application/json
--- request eval
"POST /predictions/greedy_time/1.0\n" . main::fixture("greedy_time.json")
--- response_body eval
main::python_expected("greedy_time", "body")



=== TEST 3: densenet: an eager torchvision DenseNet with the built-in image_classifier, top 5 labels
--- http_config eval
main::models_config("densenet densenet.mar")
--- request eval
"PUT /predictions/densenet\n$::Jpeg"
--- response_body eval
main::python_expected("densenet", "body")



=== TEST 4: NER: _load_pickled_model overridden, a text body, ids through the label file
--- http_config eval
main::models_config("ner ner.mar")
--- more_headers
Content-Type: text/plain
--- request eval
"POST /predictions/ner\n" . main::fixture("ner_sentence.txt")
--- response_body eval
main::python_expected("ner", "body")



=== TEST 5: two archives with their own handler.py and model.py, side by side in one process
--- http_config eval
main::models_config("iso_a iso_a.mar", "iso_b iso_b.mar")
--- more_headers
Content-Type: application/json
--- request eval
["POST /predictions/iso_a\n$::Iso", "POST /predictions/iso_b\n$::Iso",
 "POST /predictions/iso_a\n$::Iso"]
--- response_body eval
[main::python_expected("iso_a", "body"), main::python_expected("iso_b", "body"),
 main::python_expected("iso_a", "body")]



=== TEST 6: batching: 4 requests in one handle() call, answers by index
--- http_config eval
main::models_config("iso_a iso_a.mar batch_size=4 max_batch_delay=2s batch_policy=delay")
--- config eval
"location = /fan.html { ssi on; }\n"
. main::post_location("/one", "/predictions/iso_a", $::Iso)
. "location / { torchserve_inference; }\n"
--- user_files eval
main::fan_out("fan.html", 4, "/one")
--- request
GET /fan.html
--- response_body eval
main::python_expected("iso_a", "body") x 4
--- grep_error_log eval
qr/torchserve: model "iso_a": batch of \d+/
--- grep_error_log_out
torchserve: model "iso_a": batch of 4



=== TEST 7: a handler that raises: TorchServe's 503, the traceback in the error log
--- http_config eval
main::models_config("py_raise py_raise.mar")
--- request eval
"POST /predictions/py_raise\n$::Iso"
--- error_code: 503
--- response_body eval
qq/{\n  "code": 503,\n  "type": "InternalServerException",\n  "message": "/
. main::python_expected("py_raise", "message") . qq/"\n}\n/
--- error_log eval
[qr/\[error\] .*torchserve: model "py_raise" version "1\.0": Traceback \(most recent call last\):/,
 qr/ValueError: this handler always fails/]



=== TEST 8: a handler that returns the wrong number of answers
--- http_config eval
main::models_config("py_mismatch py_mismatch.mar")
--- request eval
"POST /predictions/py_mismatch\n$::Iso"
--- error_code: 503
--- response_body_like eval
qr/"message": "\Q${\ main::python_expected("py_mismatch", "message")}\E"/



=== TEST 9: an import error names the real missing module, its file and line
--- http_config eval
main::models_config("py_import_error py_import_error.mar")
--- request eval
"POST /predictions/py_import_error\n$::Iso"
--- error_code: 500
--- response_body_like eval
qr/"message": "Model \\"py_import_error\\" version 1\.0 failed to load: \Q${\ main::python_expected("py_import_error", "load_error")}\E"/
--- error_log eval
qr/torchserve: model "py_import_error" version "1\.0": Traceback \(most recent call last\):/



=== TEST 10: a handler's own status, reason phrase, header and content type
--- http_config eval
main::models_config("py_status py_status.mar")
--- request eval
"POST /predictions/py_status\n$::Iso"
--- error_code: 599
--- response_headers
Content-Type: text/plain
X-Custom-Header: yes
--- raw_response_headers_like: ^HTTP/1\.1 599 Custom Status\r\n
--- response_body eval
main::python_expected("py_status", "body")



=== TEST 11: an image as base64 text and as a multipart form field give the image's answer
--- http_config eval
main::models_config("mnist mnist.mar")
--- request eval
["POST /predictions/mnist\n" . MIME::Base64::encode_base64($::Png, ""),
 "POST /predictions/mnist\n" . main::multipart("data", "test.png", "image/png", $::Png)]
--- more_headers eval
["Content-Type: text/plain", "Content-Type: multipart/form-data; boundary=XyZ"]
--- response_body eval
[main::python_expected("mnist", "body"), main::python_expected("mnist", "body")]



=== TEST 12: registered through the API, served, unregistered: its private folder goes with it
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_temp_path html/unpacked;
--- config
    location /models { torchserve_management; }
    location /unpacked/ { autoindex on; autoindex_format json; }
    location / { torchserve_inference; }
--- user_files
>>> unpacked/keep.txt
kept
--- request eval
["POST /models?url=iso_b.mar&initial_workers=1&synchronous=true",
 "GET /unpacked/",
 "POST /predictions/iso_b\n$::Iso",
 "DELETE /models/iso_b",
 "GET /unpacked/"]
--- more_headers eval
["", "", "Content-Type: application/json", "", ""]
--- response_body_like eval
[qr/registered with 1 initial workers/,
 qr/"name":"torchserve-model-\d+-\w{6}", "type":"directory"/,
 qr/^\Q${\ main::python_expected("iso_b", "body")}\E$/,
 qr/unregistered/,
 qr/^(?!.*torchserve-model).*"name":"keep\.txt"/s]



=== TEST 13: unpack folders of worker processes that no longer run are removed at start
A killed (SIGKILL) worker process never removes its folders; the pid in
their names tells them. A live pid's folder (1) and names that are not
ours stay.
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_temp_path html/unpacked;
--- config
    location /unpacked/ { autoindex on; autoindex_format json; }
    location / { torchserve_inference; }
--- user_files
>>> unpacked/keep.txt
kept
>>> unpacked/torchserve-model-999999999-abcdef/handler.py
x = 1
>>> unpacked/torchserve-model-1-abcdef/handler.py
x = 1
>>> unpacked/torchserve-model-x1-abcdef/handler.py
x = 1
--- request
GET /unpacked/
--- response_body_like eval
qr/^(?!.*999999999)(?=.*"name":"torchserve-model-1-abcdef")(?=.*"name":"torchserve-model-x1-abcdef")(?=.*"name":"keep\.txt")/s
--- error_log
removed 1 unpack folder(s) of worker processes that no longer run



=== TEST 14: another ts package on torchserve_python_path (TorchServe's, say) is shadowed by ours, and says so
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_python_path $TEST_NGINX_FIXTURES/other_ts;
    torchserve_model iso_b iso_b.mar;
--- more_headers
Content-Type: application/json
--- request eval
"POST /predictions/iso_b\n$::Iso"
--- response_body eval
main::python_expected("iso_b", "body")
--- error_log eval
qr/the embedded Python interpreter started in this worker process for model "iso_b": Python 3\.\d+\.\d+, our ts package from "\S+"; another "ts" package \(TorchServe's\?\) at "\S+other_ts\/ts\/__init__\.py" is shadowed by ours/



=== TEST 15: scaling a loaded Python model scales its handler instances
A synchronous scale answers once the new instances are initialized (or
the extra ones retired); the four steps run one after the other.
--- http_config eval
main::models_config("iso_a iso_a.mar")
--- config eval
"location = /fan.html { ssi on; }\n"
. main::post_location("/one", "/predictions/iso_a", $::Iso)
. main::put_location("/to3", "/models/iso_a?min_worker=3&synchronous=true")
. main::put_location("/to1", "/models/iso_a?min_worker=1&synchronous=true")
. $::ApiLocations
--- user_files
>>> fan.html
<!--# include virtual="/to3" wait="yes" --><!--# include virtual="/one" wait="yes" --><!--# include virtual="/to1" wait="yes" --><!--# include virtual="/one" wait="yes" -->
--- request
GET /fan.html
--- response_body_like eval
qr/Workers scaled to 3 for model: iso_a".*"archive": "a".*Workers scaled to 1 for model: iso_a".*"archive": "a"/s
--- grep_error_log eval
qr/model "iso_a" version "1\.0": handler instances now \d+/
--- grep_error_log_out
model "iso_a" version "1.0": handler instances now 3
model "iso_a" version "1.0": handler instances now 1



=== TEST 16: a handler stuck past response_timeout: 504, its instance takes no new batch until it returns
The first request sleeps 5 s in the one instance: 504 at 2 s. The second
waits in the queue behind it: 504 at 4 s. The third arrives then, runs
once the instance is back (5 s), and is answered. The requirementsFile is
named in the log, not installed.
--- http_config eval
main::models_config("sleepy sleepy.mar response_timeout=2s")
--- config eval
"location = /fan.html { ssi on; }\n"
. main::post_location("/sleep5", "/predictions/sleepy", "5",
                      "proxy_set_header Content-Type text/plain;")
. main::post_location("/sleep0", "/predictions/sleepy", "0",
                      "proxy_set_header Content-Type text/plain;")
. "location /metrics { torchserve_metrics; }\n"
. "location / { torchserve_inference; }\n"
--- user_files
>>> fan.html
<!--# include virtual="/sleep5" wait="yes" --><!--# include virtual="/sleep0" wait="yes" --><!--# include virtual="/sleep0" wait="yes" --><!--# include virtual="/metrics?name[]=ts_inference_requests_total" wait="yes" -->
--- request
GET /fan.html
--- response_body_like eval
qr/^\{\n  "code": 504,[^}]*response_timeout \(2 s\)"\n\}\n\{\n  "code": 504,[^}]*response_timeout \(2 s\)"\n\}\nslept 0(?s:.*)^ts_inference_requests_total\{model_name="sleepy",model_version="default",hostname="[^"]+",\} 3\.0$/m
--- error_log eval
qr/model "sleepy" version "1\.0": its requirementsFile "requirements\.txt" is not installed/
--- timeout: 30
