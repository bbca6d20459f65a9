# KServe v1 and the Open Inference Protocol (v2) on the inference API (#15,
# API.md section 1): predictions through the same batches as /predictions,
# checked against the model computed in Python (t/make_fixtures.py); v2's
# binary tensors, which must give the very same numbers as its JSON form;
# metadata, health and the protocol's errors; and Python handlers through
# TorchServe's own KServe envelopes.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;
use JSON::PP ();
use MIME::Base64 ();

repeat_each(1);

# per request: its status, its body, and the checks its block adds
plan tests => repeat_each() * (4 + 4 * 2 + 2 * 4 + 2 * 5 + 5 * 3 + 8 * 2
                               + 2 * 3 + 3 + 3 + 2 * 3 + 10 * 2 + 3 * 2
                               + 3 + 2 * 2 + 3);

no_shuffle();
no_root_location();

our $Models = models_config("digits digits.mar input_shape=64");
our $Config = "    location / { torchserve_inference; }\n";

our @S = map { JSON::PP::decode_json(sample($_)) } 0 .. 2;
our @E = map { expected("digits", $_) } 0 .. 2;

# a v2 request of the samples as one FP32 tensor [rows, 64]
sub v2_json {
    my ($extra, @rows) = @_;
    return JSON::PP->new->canonical->encode({
        %$extra,
        inputs => [{ name => "input-0", datatype => "FP32",
                     shape => [scalar @rows, 64],
                     data => [map { @{ $S[$_] } } @rows] }] });
}

# the same with the tensor as binary data after the JSON header
our $BinHeader = JSON::PP->new->canonical->encode({
    parameters => { binary_data_output => JSON::PP::true },
    inputs => [{ name => "input-0", datatype => "FP32", shape => [2, 64],
                 parameters => { binary_data_size => 2 * 64 * 4 } }] });
our $BinBody = $BinHeader . pack("f<*", @{ $S[0] }, @{ $S[1] });

# the JSON answer's outputs[0].data, kept to compare the binary one with
our $JsonData;

# a 3x224x224 image-shaped input (values k/1024: exact in float32), as
# JSON and as binary, asking for the output as binary
our @Big = map { (($_ * 7919) % 2048 - 1024) / 1024 } 0 .. 3 * 224 * 224 - 1;
our $BigJson = JSON::PP->new->canonical->encode({
    inputs => [{ name => "x", datatype => "FP32", shape => [1, 3, 224, 224],
                 data => \@Big }] });
our $BigHeader = JSON::PP->new->canonical->encode({
    outputs => [{ name => "output-0", parameters => { binary_data => JSON::PP::true } }],
    inputs => [{ name => "x", datatype => "FP32", shape => [1, 3, 224, 224],
                 parameters => { binary_data_size => 4 * @Big } }] });
our $BigBin = $BigHeader . pack("f<*", @Big);
our $BigData;

sub v2_output {
    my ($name, $shape, $data) = @_;
    return { model_name => "digits", model_version => "1.0",
             outputs => [{ name => $name, datatype => "FP32",
                           shape => $shape, data => $data }] };
}

sub without_id { my ($j) = @_; delete $j->{id}; return $j }

# a JSON body as canonical text, to compare whatever the indentation
sub canonical {
    return JSON::PP->new->canonical->encode(JSON::PP::decode_json($_[0]))
           . "\n";
}

run_tests();

__DATA__

=== TEST 1: v1: the instances run as rows of one batch, the answers in order, as TorchServe's JSON
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
"POST /v1/models/digits:predict\n"
. JSON::PP::encode_json({ instances => [$::S[0], { data => $::S[1] }, $::S[2]] })
--- response_headers
Content-Type: application/json
--- response_body_filters eval
main::close_to_data({ predictions => [@::E[0 .. 2]] })
--- response_body
close
--- no_error_log
[error]



=== TEST 2: v1 status, and its errors: no instances, a bad instance (which one), an unknown model
digits loads in the thread pool after nginx starts: its status is asked
once it is ready (a slow machine, or the sanitizers, take seconds).
--- http_config eval: $::Models
--- config eval: $::Config
--- init
main::wait_for("/v1/models/digits", qr/"ready": true/);
--- request eval
["GET /v1/models/digits", "POST /v1/models/digits:predict\n{\"inputs\": []}",
 "POST /v1/models/digits:predict\n{\"instances\": [" . main::sample(0) . ", [1, 2]]}",
 "POST /v1/models/nosuch:predict\n{\"instances\": [[1]]}"]
--- error_code eval
[200, 400, 400, 404]
--- response_body_like eval
[qr/^\{\n  "name": "digits",\n  "ready": true\n\}\n$/,
 qr/"message": "a KServe v1 request is a JSON object with a non-empty \\"instances\\" array"/,
 qr/"message": "instance 1: input of shape \[2\] does not match the model's input shape \[64\]/,
 qr/"type": "ModelNotFoundException",\n  "message": "Model not found: nosuch"/]



=== TEST 3: v2 infer, JSON: the rows of the tensor are instances, the answer joins them back, with the client's id
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
["POST /v2/models/digits/infer\n" . main::v2_json({ id => "req-42" }, 0, 1),
 "POST /v2/models/digits/versions/1.0/infer\n" . main::v2_json({}, 2)]
--- more_headers eval
["", "X-Request-Id: from-proxy-7"]
--- response_headers eval
["Content-Type: application/json", "Content-Type: application/json"]
--- response_body_filters eval
[[main::close_to_data({ %{ main::v2_output("output-0", [2, 10],
                                            [@{ $::E[0] }, @{ $::E[1] }]) },
                        id => "req-42" })],
 [main::close_to_data({ %{ main::v2_output("output-0", [1, 10], $::E[2]) },
                        id => "from-proxy-7" })]]
--- response_body eval
["close\n", "close\n"]
--- no_error_log
[error]



=== TEST 4: v2 nested data, requested outputs, and the binary tensor extension: the same numbers, bit for bit
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
["POST /v2/models/digits/infer\n"
 . JSON::PP->new->canonical->encode({
       outputs => [{ name => "output-0" }],
       inputs => [{ name => "x", datatype => "FP32", shape => [2, 64],
                    data => [$::S[0], $::S[1]] }] }),
 "POST /v2/models/digits/infer\n$::BinBody"]
--- more_headers eval
["", "Content-Type: application/octet-stream\nInference-Header-Content-Length: " . length($::BinHeader)]
--- response_headers_like eval
["Content-Type: application/json\nInference-Header-Content-Length: ",
 "Content-Type: application/octet-stream\nInference-Header-Content-Length: \\d+"]
--- response_body_filters eval
[[sub {
     my $j = JSON::PP::decode_json($_[0]);
     $::JsonData = $j->{outputs}[0]{data};
     return main::close_to_data(main::v2_output("output-0", [2, 10],
                [@{ $::E[0] }, @{ $::E[1] }]), \&main::without_id)->($_[0]);
 }],
 [sub {
     my ($body) = @_;
     my ($head) = $body =~ /^(\{.*?\}\]\})/s or return "no JSON header\n";
     my $j = JSON::PP::decode_json($head);
     my $out = $j->{outputs}[0];
     return "binary_data_size $out->{parameters}{binary_data_size}\n"
         unless $out->{parameters}{binary_data_size} == 80 && !exists $out->{data};
     my $bin = substr($body, length $head);
     return "got " . length($bin) . " bytes\n" unless length $bin == 80;
     my $want = pack("f<*", @$::JsonData);
     return $bin eq $want ? "same\n" : "the binary answer differs from the JSON one\n";
 }]]
--- response_body eval
["close\n", "same\n"]
--- no_error_log
[error]



=== TEST 5: v2 metadata from forward's schema, input_shape and the warm-up's output; server metadata; health; model readiness
The metadata comes from the loaded model: asked once digits is ready.
--- http_config eval: $::Models
--- config eval: $::Config
--- init
main::wait_for("/v1/models/digits", qr/"ready": true/);
--- request eval
["GET /v2/models/digits", "GET /v2/models/digits/versions/1.0/ready", "GET /v2",
 "GET /v2/health/live", "GET /v2/health/ready"]
--- response_body_filters eval
[(\&main::canonical) x 5]
--- response_body eval
['{"inputs":[{"datatype":"FP32","name":"x","shape":[-1,64]}],"name":"digits","outputs":[{"datatype":"FP32","name":"output-0","shape":[-1,10]}],"platform":"pytorch_torchscript","versions":["1.0"]}' . "\n",
 '{"name":"digits","ready":true}' . "\n",
 '{"extensions":["binary_tensor_data"],"name":"torchserve","version":"0.1.0"}' . "\n",
 '{"live":true}' . "\n",
 '{"ready":true}' . "\n"]
--- no_error_log
[error]



=== TEST 6: v2 errors are the protocol's {"error": ...}, with the status it says
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
["POST /v2/models/nosuch/infer\n{}",
 "POST /v2/models/digits/infer\n{\"inputs\": ",
 "POST /v2/models/digits/infer\n{\"inputs\": []}",
 "POST /v2/models/digits/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "FP32", shape => [1, 4], data => [1, 2, 3] }] }),
 "POST /v2/models/digits/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "FP32", shape => [1000000000, 1000000000, 64], parameters => { binary_data_size => 0 } }] }),
 "POST /v2/models/digits/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "BYTES", shape => [1], data => ["a"] }] }),
 "POST /v2/models/digits/infer\n" . JSON::PP::encode_json({ outputs => [{ name => "logits" }], inputs => [{ name => "x", datatype => "FP32", shape => [1, 64], data => $::S[0] }] }),
 "GET /v2/models/digits/infer"]
--- error_code eval
[404, 400, 400, 400, 400, 400, 400, 405]
--- response_body_like eval
[qr/^\{\n  "error": "Model not found: nosuch"\n\}\n$/,
 qr/^\{\n  "error": "invalid JSON at line 1/,
 qr/^\{\n  "error": "a v2 inference request needs a non-empty \\"inputs\\" array"\n\}\n$/,
 qr/^\{\n  "error": "input \\"x\\": 3 values for a shape of 4"\n\}\n$/,
 qr/^\{\n  "error": "input \\"x\\": dimension 0 of the shape is not a size this body can hold"\n\}\n$/,
 qr/^\{\n  "error": "input \\"x\\": datatype BYTES has no torch tensor type/,
 qr/^\{\n  "error": "no output named \\"logits\\": this model's are output-0"\n\}\n$/,
 qr/^\{\n  "error": "Requested method is not allowed/]



=== TEST 7: Python handlers through TorchServe's envelopes: v1 gives the handler the instances, v2 the inputs (BYTES: the image)
--- http_config eval
main::models_config("iso_a iso_a.mar", "mnist mnist.mar")
--- config eval: $::Config
--- request eval
["POST /v1/models/iso_a:predict\n{\"instances\": [{\"body\": [1, 2]}, {\"body\": [3, 4]}]}",
 "POST /v2/models/mnist/infer\n" . JSON::PP::encode_json({ id => "png-1", inputs => [{ name => "image", datatype => "BYTES", shape => [1], data => [MIME::Base64::encode_base64(main::fixture("mnist_digit.png"), "")] }] })]
--- response_body eval
[qq'{\n  "predictions": [\n    {\n      "archive": "a",\n      "out": [\n        2,\n        4\n      ]\n    },\n    {\n      "archive": "a",\n      "out": [\n        6,\n        8\n      ]\n    }\n  ]\n}',
 qq'{\n  "id": "png-1",\n  "model_name": "mnist",\n  "model_version": "1.0",\n  "outputs": [\n    {\n      "name": "image",\n      "datatype": "INT64",\n      "data": [\n        ' . main::python_expected("mnist", "body") . qq'\n      ],\n      "shape": [\n        1\n      ]\n    }\n  ]\n}']
--- no_error_log
[error]



=== TEST 8: v1 on the C image classifier: each {"data": base64} instance is answered as /predictions answers that image, in TorchServe's JSON
--- http_config eval
main::models_config("vision_cls vision_cls.mar")
--- config eval: $::Config
--- request eval
"POST /v1/models/vision_cls:predict\n"
. JSON::PP::encode_json({ instances => [map { { data => MIME::Base64::encode_base64(main::fixture("vision/$_"), "") } } "kitten.jpg", "grey.png"] })
--- response_body eval
"{\n  \"predictions\": [\n    "
. CORE::join(",\n    ", map { (my $a = main::vision_expected("cls", $_)) =~ s/\n/\n    /g; $a } "kitten.jpg", "grey.png")
. "\n  ]\n}"
--- no_error_log
[error]



=== TEST 9: GET /v1/models/{m} on the management API too, where TorchServe serves it
A prediction first waits for the model's load (in the thread pool, after
nginx starts).
--- http_config eval: $::Models
--- config
    location /v1/ { torchserve_management; }
    location /predictions/ { torchserve_inference; }
--- request eval
["POST /predictions/digits\n" . main::sample(0), "GET /v1/models/digits"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\[\n  0\./, qr/\A\{\n  "name": "digits",\n  "ready": true\n\}\n?\z/]
--- no_error_log
[error]



=== TEST 10: a 3x224x224 FP32 input: its binary form gives the very same bytes of output as its JSON form (the tensor handler on the vision fixture's TorchScript model)
--- http_config eval: main::models_config("img vision_cls.mar handler=tensor")
--- config
    location / { torchserve_inference; client_max_body_size 16m; }
--- request eval
["POST /v2/models/img/infer\n" . $::BigJson, "POST /v2/models/img/infer\n" . $::BigBin]
--- more_headers eval
["Content-Type: application/json",
 "Content-Type: application/octet-stream\nInference-Header-Content-Length: " . length($::BigHeader)]
--- response_body_filters eval
[[sub {
     my $j = JSON::PP::decode_json($_[0]);
     my $o = $j->{outputs}[0];
     return "shape @{ $o->{shape} }\n" unless "@{ $o->{shape} }" eq "1 1000";
     $::BigData = pack("f<*", @{ $o->{data} });
     return "json\n";
 }],
 [sub {
     my ($body) = @_;
     my ($head) = $body =~ /^(\{.*?\}\]\})/s or return "no JSON header\n";
     return substr($body, length $head) eq $::BigData ? "same\n"
            : "the binary answer differs from the JSON one\n";
 }]]
--- response_body eval
["json\n", "same\n"]
--- no_error_log
[error]



=== TEST 11: every datatype torch has decodes to its values (argmax over the last dimension tells), JSON and binary
--- http_config eval: main::models_config("argmax argmax.mar")
--- config eval: $::Config
--- request eval
[map({ my ($type, $data) = @$_;
       "POST /v2/models/argmax/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => $type, shape => [1, scalar @$data], data => $data }] }) }
     ["INT64", [3, 9, 2]], ["INT32", [-3, -9, 7]], ["INT16", [300, -2, 1]], ["INT8", [-5, -1, -9]],
     ["UINT8", [1, 200, 3]], ["FP16", [0.5, 0.25, 1.5]], ["FP64", [1.5, 2.5, 0.5]],
     ["BOOL", [JSON::PP::false, JSON::PP::true, JSON::PP::false]]),
 "POST /v2/models/argmax/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "FP16", shape => [1, 3], parameters => { binary_data_size => 6 } }] }) . pack("v*", 0x3800, 0x3E00, 0x3400),
 "POST /v2/models/argmax/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "UINT8", shape => [1, 3], data => [1, 256, 3] }] })]
--- more_headers eval
[("") x 8,
 "Inference-Header-Content-Length: " . length(JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "FP16", shape => [1, 3], parameters => { binary_data_size => 6 } }] })),
 ""]
--- error_code eval
[(200) x 9, 400]
--- response_body_like eval
['"data":\[1(\.0)?\]', '"data":\[2(\.0)?\]', '"data":\[0(\.0)?\]', '"data":\[1(\.0)?\]',
 '"data":\[1(\.0)?\]', '"data":\[2(\.0)?\]', '"data":\[1(\.0)?\]', '"data":\[1(\.0)?\]',
 '"data":\[1(\.0)?\]', '"error": "256 is out of range for UINT8"']



=== TEST 12: big "data" arrays skip jansson's tree: FP32 nested through the fast decoder, INT64 through jansson alone, both with their values
--- http_config eval: main::models_config("argmax argmax.mar")
--- config
    location / { torchserve_inference; client_max_body_size 16m; }
--- request eval
["POST /v2/models/argmax/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "INT64", shape => [1, 3000],
      data => [map { $_ == 1234 ? 99999 : $_ % 7 } 0 .. 2999] }] }),
 "POST /v2/models/argmax/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "FP32", shape => [1, 2, 2000],
      data => [[[map { $_ == 5 ? 2.5 : ($_ % 3) / 4 } 0 .. 1999], [map { $_ == 1999 ? 7.25 : ($_ % 5) / 8 } 0 .. 1999]]] }] }),
 "POST /v2/models/argmax/infer\n" . JSON::PP::encode_json({ inputs => [{ name => "x", datatype => "FP32", shape => [1, 3000],
      data => [map { 0.5 } 0 .. 2998] }] })]
--- error_code eval
[200, 200, 400]
--- response_body_like eval
['"shape":\[1,1\],"data":\[1234\.0\]', '"shape":\[1,2,1\],"data":\[5\.0,1999\.0\]',
 '"error": "input \\\\"x\\\\": 2999 values for a shape of 3000"']



=== TEST 13: v2 requests join /predictions' batches: 2 v2 and 2 plain requests at once, one batch of 4
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar batch_size=4 max_batch_delay=2s batch_policy=delay;
--- config eval
"    location = /fan.html { ssi on; }\n"
. main::post_location("/v2one", "/v2/models/digits/infer", main::v2_json({}, 0))
. main::post_location("/plain", "/predictions/digits", main::sample(0))
. $::Config
--- user_files
>>> fan.html
<!--# include virtual="/v2one" --><!--# include virtual="/plain" --><!--# include virtual="/v2one" --><!--# include virtual="/plain" -->
--- request
GET /fan.html
--- response_body_filters eval
sub {
    my ($body) = @_;
    my @v2 = $body =~ /"model_name":"digits"/g;
    my @plain = $body =~ /\[\n  0\.99/g;
    return scalar(@v2) . " v2, " . scalar(@plain) . " plain\n";
}
--- response_body
2 v2, 2 plain
--- grep_error_log eval
qr/torchserve: model "digits": batch of \d+/
--- grep_error_log_out
torchserve: model "digits": batch of 4



=== TEST 14: a request may not fan out into more than 4096 instances or rows (each would become a request of the batch)
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
["POST /v1/models/digits:predict\n" . JSON::PP::encode_json({ instances => [([]) x 4097] }),
 "POST /v2/models/digits/infer\n" . JSON::PP::encode_json({ id => "x" x 6000, inputs => [{ name => "x", datatype => "FP32", shape => [5000, 0], data => [] }] })]
--- error_code eval
[400, 400]
--- response_body_like eval
[qr/"message": "4097 instances: at most 4096 in one request"/,
 qr/"error": "the inputs' first dimension \(the batch\) is 5000: at most 4096 rows in one request"/]
