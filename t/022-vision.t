# The C vision handlers (#12): TorchScript archives naming TorchServe's
# image_classifier, image_segmenter or object_detector, served without
# Python.  Every answer is compared with what torchvision + Pillow + torch
# compute in t/images/make_vision_fixtures.py (TorchServe's handler code
# written there directly): the classifier's, segmenter's and detector's
# JSON byte for byte, the preprocessed tensor (a probe model answering its
# input) within 1e-6 per element.
use FindBin;
use lib $FindBin::Bin;
use MIME::Base64 qw(encode_base64);
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 103);

no_shuffle();
no_root_location();

sub main::image { fixture("vision/$_[0]") }

sub main::b64 { encode_base64(main::image($_[0]), '') }

# a multipart/form-data body as curl -F sends it
sub main::multipart {
    my ($field, $file, $type, $data) = @_;
    my $b = "------------------------d74496d66958873e";
    return "--$b\r\nContent-Disposition: form-data; name=\"$field\"; "
           . "filename=\"$file\"\r\nContent-Type: $type\r\n\r\n$data\r\n"
           . "--$b--\r\n";
}

# the SSI fan-out's locations: small_N.jpg POSTed as base64 JSON strings
sub main::small_locations {
    my ($path) = @_;
    return CORE::join '', "    location = /fan.html { ssi on; }\n",
        map { post_location("/small$_", $path, '"' . main::b64("small_$_.jpg") . '"') }
            0 .. 7;
}

our $Models = models_config("vision_cls vision_cls.mar",
                            "vision_probe vision_probe.mar");

add_block_defaults(
    http_config  => $Models,
    config       => "location / { torchserve_inference; }",
    no_error_log => "[crit]");

run_tests();

__DATA__

=== TEST 1: curl -T kitten.jpg: image_classifier in C answers TorchServe's top 5, and no interpreter starts
--- request eval
"PUT /predictions/vision_cls\n" . main::image("kitten.jpg")
--- response_body eval
main::vision_expected("cls", "kitten.jpg")
--- no_error_log
embedded Python interpreter



=== TEST 2: every form of image: JPEG baseline, progressive, CMYK, EXIF-rotated, 4000x10; PNG 1x1, grey, RGBA, palette, 16-bit grey and RGB
--- request eval
[ map { "PUT /predictions/vision_cls\n" . main::image($_) } @{ main::vision_expected("images") } ]
--- error_code eval
[ map { 200 } @{ main::vision_expected("images") } ]
--- response_body eval
[ map { main::vision_expected("cls", $_) } @{ main::vision_expected("images") } ]



=== TEST 3: the preprocessed tensor of kitten.jpg is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("kitten.jpg")
--- response_body_filters eval
main::probe_close("kitten.jpg")
--- response_body
close



=== TEST 4: the preprocessed tensor of progressive.jpg is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("progressive.jpg")
--- response_body_filters eval
main::probe_close("progressive.jpg")
--- response_body
close



=== TEST 5: the preprocessed tensor of cmyk.jpg is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("cmyk.jpg")
--- response_body_filters eval
main::probe_close("cmyk.jpg")
--- response_body
close



=== TEST 6: the preprocessed tensor of exif_rotated.jpg is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("exif_rotated.jpg")
--- response_body_filters eval
main::probe_close("exif_rotated.jpg")
--- response_body
close



=== TEST 7: the preprocessed tensor of wide.jpg is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("wide.jpg")
--- response_body_filters eval
main::probe_close("wide.jpg")
--- response_body
close



=== TEST 8: the preprocessed tensor of tiny.png is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("tiny.png")
--- response_body_filters eval
main::probe_close("tiny.png")
--- response_body
close



=== TEST 9: the preprocessed tensor of grey.png is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("grey.png")
--- response_body_filters eval
main::probe_close("grey.png")
--- response_body
close



=== TEST 10: the preprocessed tensor of rgba.png is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("rgba.png")
--- response_body_filters eval
main::probe_close("rgba.png")
--- response_body
close



=== TEST 11: the preprocessed tensor of palette.png is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("palette.png")
--- response_body_filters eval
main::probe_close("palette.png")
--- response_body
close



=== TEST 12: the preprocessed tensor of grey16.png is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("grey16.png")
--- response_body_filters eval
main::probe_close("grey16.png")
--- response_body
close



=== TEST 13: the preprocessed tensor of rgb16.png is torchvision's, within 1e-6 per element
--- request eval
"PUT /predictions/vision_probe\n" . main::image("rgb16.png")
--- response_body_filters eval
main::probe_close("rgb16.png")
--- response_body
close



=== TEST 14: the MNIST tutorial's handler as configuration: grey, ToTensor only, argmax, the Python flow's answer
--- http_config eval
main::models_config("vision_mnist vision_mnist.mar")
--- request eval
"PUT /predictions/vision_mnist\n" . main::image("../mnist_digit.png")
--- response_body eval
main::python_expected("mnist", "body")



=== TEST 15: image_segmenter: LR-ASPP's best class and probability per pixel
--- http_config eval
main::models_config("vision_seg vision_seg.mar")
--- request eval
[ map { "PUT /predictions/vision_seg\n" . main::image($_) } qw(kitten.jpg grey.png tiny.png) ]
--- response_body eval
[ map { main::vision_expected("seg", $_) } qw(kitten.jpg grey.png tiny.png) ]



=== TEST 16: object_detector: a scripted SSDlite (List[Tensor] in, (losses, detections) out), boxes above the threshold with their labels
--- http_config eval
main::models_config("vision_det vision_det.mar")
--- request eval
[ map { "PUT /predictions/vision_det\n" . main::image($_) } qw(kitten.jpg grey.png tiny.png) ]
--- response_body eval
[ map { main::vision_expected("det", $_) } qw(kitten.jpg grey.png tiny.png) ]



=== TEST 17: base64 in a JSON string and in {"data": ...}
--- more_headers
Content-Type: application/json
--- request eval
[ "POST /predictions/vision_cls\n\"" . main::b64("kitten.jpg") . "\"",
  "POST /predictions/vision_cls\n{\"data\": \"" . main::b64("kitten.jpg") . "\"}" ]
--- response_body eval
[ main::vision_expected("cls", "kitten.jpg"), main::vision_expected("cls", "kitten.jpg") ]



=== TEST 18: base64 as text/plain
--- more_headers
Content-Type: text/plain
--- request eval
"POST /predictions/vision_cls\n" . main::b64("grey.png")
--- response_body eval
main::vision_expected("cls", "grey.png")



=== TEST 19: multipart/form-data, curl -F data=@kitten.jpg and -F body=@kitten.jpg
--- more_headers
Content-Type: multipart/form-data; boundary=------------------------d74496d66958873e
--- request eval
[ "POST /predictions/vision_cls\n" . main::multipart("data", "kitten.jpg", "image/jpeg", main::image("kitten.jpg")),
  "POST /predictions/vision_cls\n" . main::multipart("body", "kitten.jpg", "image/jpeg", main::image("kitten.jpg")) ]
--- response_body eval
[ main::vision_expected("cls", "kitten.jpg"), main::vision_expected("cls", "kitten.jpg") ]



=== TEST 20: a JSON list is the tensor itself, untransformed (VisionHandler's rule)
--- more_headers
Content-Type: application/json
--- request
POST /predictions/vision_probe
[[[0.5, 1.0], [2.0, 3.25]]]
--- response_body chop
[
  0.5,
  1.0,
  2.0,
  3.25
]



=== TEST 21: 8 images at once with batch_size=8 (the delay policy): one forward, every answer right
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model vision_cls vision_cls.mar batch_size=8 max_batch_delay=2s batch_policy=delay;
--- config eval
main::small_locations("/predictions/vision_cls") . "    location / { torchserve_inference; }\n"
--- user_files eval
">>> fan.html\n" . CORE::join '', map { "<!--# include virtual=\"/small$_\" -->" } 0 .. 7
--- request
GET /fan.html
--- response_body eval
CORE::join '', map { main::vision_expected("cls", "small_$_.jpg") } 0 .. 7
--- grep_error_log eval
qr/torchserve: model "vision_cls": batch of \d+/
--- grep_error_log_out
torchserve: model "vision_cls": batch of 8



=== TEST 22: hostile and broken images: 400 with what is wrong, never a crash
--- request eval
[ (map { "PUT /predictions/vision_cls\n" . main::image($_) }
       qw(bad.gif bad_truncated.jpg bad_truncated.png ../images/png_bad_crc_idat.png ../images/jpeg_bomb.jpg bad_garbage.jpg)),
  "PUT /predictions/vision_cls\n" ]
--- error_code eval
[ 400, 400, 400, 400, 400, 400, 400 ]
--- response_body_like eval
[ qr/"message": ".*GIF/, qr/"message": ".*trunc|"message": ".*premature/i, qr/"message": ".*trunc|"message": ".*end of/i,
  qr/"message": ".*CRC/i, qr/"message": ".*60000x60000.*pixels|"message": ".*pixels.*limit/i, qr/"code": 400/,
  qr/"message": ".*(empty|no image|no field)/i ]
--- error_log
torchserve: model "vision_cls" version "1.0": 400



=== TEST 23: the archive's max_image_pixels: 1000 refuses a 333x250 image, takes a 32x24 one
--- http_config eval
main::models_config("vision_limit vision_limit.mar")
--- request eval
[ "PUT /predictions/vision_limit\n" . main::image("kitten.jpg"),
  "PUT /predictions/vision_limit\n" . main::image("small_0.jpg") ]
--- error_code eval
[ 400, 200 ]
--- response_body_like eval
[ qr/"message": "image of 333x250 pixels exceeds the limit of 1000 pixels"/, qr/^\{/ ]



=== TEST 24: a handler section we cannot follow fails the load, naming the key
--- http_config eval
main::models_config("vision_badcfg vision_badcfg.mar")
--- request eval
"PUT /predictions/vision_badcfg\n" . main::image("kitten.jpg")
--- error_code: 500
--- response_body_like: failed to load: handler: line \d+: resize must be a size from 1 to 65535
--- error_log
resize must be a size




=== TEST 25: a broken image in a batch gets its 400, the other seven their answers, in one forward
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model vision_cls vision_cls.mar batch_size=8 max_batch_delay=2s batch_policy=delay;
--- config eval
main::small_locations("/predictions/vision_cls")
. TorchServeTest::post_location("/broken", "/predictions/vision_cls", '"' . main::b64("bad_small.jpg") . '"')
. "    location / { torchserve_inference; }\n"
--- user_files eval
">>> fan.html\n" . CORE::join '', map { "<!--# include virtual=\"$_\" -->" } qw(/small0 /small1 /small2 /broken /small4 /small5 /small6 /small7)
--- request
GET /fan.html
--- response_body eval
CORE::join('', map { main::vision_expected("cls", "small_$_.jpg") } 0 .. 2)
. "{\n  \"code\": 400,\n  \"type\": \"BadRequestException\",\n  \"message\": \"JPEG: premature end of data (truncated image)\"\n}\n"
. CORE::join('', map { main::vision_expected("cls", "small_$_.jpg") } 4 .. 7)
--- grep_error_log eval
qr/torchserve: model "vision_cls": batch of \d+/
--- grep_error_log_out
torchserve: model "vision_cls": batch of 8
