# Explanations (#15, API.md section 1): /explanations/{m}[/{v}] and KServe's
# :explain answer Integrated Gradients as Captum computes them for
# TorchServe's handlers (zero baseline, 15 Gauss-Legendre steps, the
# request's "target", default 0), compared with the same computation
# written directly in t/make_fixtures.py (numpy's nodes, torch's
# autograd); Python handlers through our ts package's get_insights.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;
use JSON::PP ();
use MIME::Base64 ();

repeat_each(1);

# per request: its status and body (and the log, where the block checks it)
plan tests => repeat_each() * (3 * 3 + 3 + 5 * 3 + 3 * 3 + 3 * 2 + 3
                               + 2 * 3);

no_shuffle();
no_root_location();

our $Models = models_config("digits digits.mar", "argmax argmax.mar");
our $Config = "    location / { torchserve_inference; }\n";
our @S = map { JSON::PP::decode_json(sample($_)) } 0 .. 1;

# a multipart/form-data body of fields (name => value)
sub form {
    my (%f) = @_;
    my $b = "XyZ";
    return join('', map { "--$b\r\nContent-Disposition: form-data; name=\"$_\"\r\n\r\n$f{$_}\r\n" }
                    sort keys %f) . "--$b--\r\n";
}

our $Kitten = MIME::Base64::encode_base64(fixture("vision/kitten.jpg"), "");

# the image explanations of the same request in two forms must agree
our %Seen;
sub same_as {
    my ($key) = @_;
    return sub {
        my ($body) = @_;
        my $j = eval { JSON::PP::decode_json($body) } or return "not JSON\n";
        return "not 3x224x224\n" unless @$j == 3 && @{ $j->[0] } == 224;
        if (!exists $Seen{$key}) { $Seen{$key} = $body; return "same\n" }
        return $Seen{$key} eq $body ? "same\n" : "differs\n";
    };
}

run_tests();

__DATA__

=== TEST 1: the tensor handler: target 0 by default, a "target" member, a version in the URL
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
["POST /explanations/digits\n" . main::sample(0),
 "POST /explanations/digits\n" . JSON::PP::encode_json({ data => $::S[1], target => 3 }),
 "PUT /explanations/digits/1.0\n" . JSON::PP::encode_json({ data => $::S[0], target => 0 })]
--- response_body_filters eval
[[main::close_to("digits_ig", 0)], [main::close_to("digits_ig", 1)],
 [main::close_to("digits_ig", 0)]]
--- response_body eval
["close\n", "close\n", "close\n"]
--- no_error_log
[error]



=== TEST 2: KServe v1's :explain: {"explanations": [...]}, one per instance
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
"POST /v1/models/digits:explain\n"
. JSON::PP::encode_json({ instances => [$::S[0], { data => $::S[1], target => 3 }] })
--- response_body_filters eval
main::close_to_data({ explanations => [main::expected("digits_ig", 0), main::expected("digits_ig", 1)] })
--- response_body
close
--- no_error_log
[error]



=== TEST 3: what cannot be explained is a clear 400
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
["POST /explanations/argmax\n" . main::sample(0),
 "POST /explanations/digits\n" . JSON::PP::encode_json({ data => $::S[0], target => 10 }),
 "POST /explanations/digits\n" . JSON::PP::encode_json({ data => $::S[0], target => "cat" }),
 "POST /explanations/digits\n[1, 2]",
 "POST /explanations/nosuch\n[1]"]
--- error_code eval
[400, 400, 400, 400, 404]
--- response_body_like eval
[qr/"message": "explanation: the model's output does not depend on its input through differentiable operations/,
 qr/"message": "explanation: target 10 is not one of the model's 10 outputs"/,
 qr/"message": "\\"target\\" is not a class number"/,
 qr/"message": "explanation: mat1 and mat2 shapes cannot be multiplied/,
 qr/"message": "Model not found: nosuch"/]
--- no_error_log
[error]



=== TEST 4: predictions before and after explanations: the same answers (autograd stays with the explanations)
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
["POST /predictions/digits\n" . main::sample(0),
 "POST /explanations/digits\n" . main::sample(0),
 "POST /predictions/digits\n" . main::sample(0)]
--- response_body_filters eval
[[main::close_to("digits", 0)], [main::close_to("digits_ig", 0)],
 [main::close_to("digits", 0)]]
--- response_body eval
["close\n", "close\n", "close\n"]
--- no_error_log
[error]



=== TEST 5: the C image classifier: "target" as a form field and as a JSON member give the same attributions, in the input's 3x224x224 shape; class 0's differ
--- http_config eval: main::models_config("vision_cls vision_cls.mar")
--- config eval: $::Config
--- request eval
["POST /explanations/vision_cls\n" . main::form(data => main::fixture("vision/kitten.jpg"), target => 281),
 "POST /explanations/vision_cls\n" . JSON::PP::encode_json({ data => $::Kitten, target => 281 }),
 "POST /explanations/vision_cls\n" . JSON::PP::encode_json({ data => $::Kitten })]
--- more_headers eval
["Content-Type: multipart/form-data; boundary=XyZ", "Content-Type: application/json",
 "Content-Type: application/json"]
--- response_body_filters eval
[[main::same_as("kitten")], [main::same_as("kitten")], [main::same_as("kitten")]]
--- response_body eval
["same\n", "same\n", "differs\n"]



=== TEST 6: a Python handler (the MNIST tutorial's): our package's Integrated Gradients, as Captum's
--- http_config eval: main::models_config("mnist mnist.mar")
--- config eval: $::Config
--- request eval
"POST /explanations/mnist\n" . main::fixture("mnist_digit.png")
--- more_headers
Content-Type: image/png
--- response_body_filters eval
main::close_to_data(main::python_expected("mnist", "explanation"))
--- response_body
close
--- no_error_log
[error]



=== TEST 7: the Open Inference Protocol's /explain: the attributions as output-0, in the input's shape, for parameters.target
--- http_config eval: $::Models
--- config eval: $::Config
--- request eval
["POST /v2/models/digits/explain\n"
 . JSON::PP::encode_json({ id => "why-1", parameters => { target => 3 },
                           inputs => [{ name => "x", datatype => "FP32", shape => [1, 64], data => $::S[1] }] }),
 "POST /v2/models/digits/versions/1.0/explain\n"
 . JSON::PP::encode_json({ parameters => { target => "three" },
                           inputs => [{ name => "x", datatype => "FP32", shape => [1, 64], data => $::S[1] }] })]
--- error_code eval
[200, 400]
--- response_body_filters eval
[[main::close_to_data({ id => "why-1", model_name => "digits", model_version => "1.0",
                        outputs => [{ name => "output-0", datatype => "FP32", shape => [1, 64],
                                      data => main::expected("digits_ig", 1) }] })],
 [sub { $_[0] =~ /"error": "parameters.target is not a class number"/ ? "clear\n" : $_[0] }]]
--- response_body eval
["close\n", "clear\n"]
--- no_error_log
[error]
