# Remote archives: downloaded only when torchserve_allowed_urls allows the
# URL, into the model store; refused, conflicting and failing downloads
# answer as TorchServe does; an unregistered download leaves the store.
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use TorchServeTest;
use Test::Nginx::Socket;

$ENV{TEST_NGINX_STORE_DIR} ||= tempdir(CLEANUP => 1);

repeat_each(1);
plan tests => repeat_each() * 3 * 13;

no_shuffle();
no_root_location();

our $S0 = sample(0);

sub main::url {
    my ($path) = @_;
    return "http://127.0.0.1:" . Test::Nginx::Util::server_port() . $path;
}

run_tests();

__DATA__

=== TEST 1: download, conflict, refusals, failures, delete
--- http_config
    torchserve_model_store $TEST_NGINX_STORE_DIR;
    torchserve_allowed_urls "http://127\.0\.0\.1:\d+/(files|redirect)/.*";
--- config
    location /models { torchserve_management; }
    location /files/ { alias $TEST_NGINX_FIXTURES/; }
    location /store/ { alias $TEST_NGINX_STORE_DIR/; }
    location /redirect/ { return 302 /files/digits_v2.mar; }
    location / { torchserve_inference; }
--- request eval
[
"POST /models?url=" . main::url("/files/digits_v2.mar") . "&initial_workers=1",
"POST /predictions/digits\n$::S0",
"GET /store/digits_v2.mar",
"POST /models?url=" . main::url("/files/digits_v2.mar"),
"POST /models?url=" . main::url("/files/nosuch.mar"),
"POST /models?url=http://example.com/files/digits.mar",
"POST /models?url=" . main::url("/redirect/digits.mar"),
"POST /models?url=" . main::url("/files/eager.mar"),
"GET /store/eager.mar",
"POST /models?url=file:///etc/passwd",
"DELETE /models/digits",
"GET /models",
"GET /store/digits_v2.mar",
]
--- error_code eval
[200, 200, 200, 500, 400, 404, 400, 400, 404, 404, 200, 200, 404]
--- response_body_like eval
[
qr/"status": "Model \\"digits\\" Version: 2\.0 registered with 1 initial workers"/,
qr/^\[\n  0\.979980/,
qr/^PK/,
qr/"code": 500,\n  "type": "InternalServerException",\n  "message": "Model file already exists digits_v2\.mar"/,
qr/"code": 400,\n  "type": "DownloadArchiveException",\n  "message": "Failed to download archive from: http:\/\/127\.0\.0\.1:\d+\/files\/nosuch\.mar"/,
qr/"message": "Given URL http:\/\/example\.com\/files\/digits\.mar does not match any allowed URL\(s\)"/,
qr/"type": "DownloadArchiveException"/,
qr/"type": "InvalidModelException",\n  "message": ".*eager-mode/,
qr/404 Not Found/,
qr/"message": "Given URL file:\/\/\/etc\/passwd does not match any allowed URL\(s\)"/,
qr/"status": "Model \\"digits\\" unregistered"/,
qr/^\{\n  "models": \[\]\n\}\n$/,
qr/404 Not Found/,
]
--- no_error_log
[crit]
