# TorchServe's response headers (API.md section 0, #15): every response of
# a torchserve location, errors and nginx's own error pages included,
# carries x-request-id (a random UUID, or the client's own id when it is
# sane), Pragma, Cache-Control and Expires; $torchserve_request_id is the
# same id, and a Python handler sees it as context.get_request_id().
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

repeat_each(1);

# per request: its status, headers, body and log checks
plan tests => repeat_each() * (6 * 6 + 2 * 9 + 7 + 2 * 7 + 5 + 3 + 2 * 7);

no_shuffle();
no_root_location();

our $Uuid = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
our $NoCache = <<"_EOH_";
Pragma: no-cache
Cache-Control: no-cache; no-store, must-revalidate, private
Expires: Thu, 01 Jan 1970 00:00:00 UTC
_EOH_

our $Headers = "x-request-id: $Uuid\n$NoCache";

our $Config = <<'_EOC_';
    location /models { torchserve_management; }
    location /metrics { torchserve_metrics; }
    location /static { return 200 "static\n"; }
    location / {
        torchserve_inference;
        add_header X-Logged-Id $torchserve_request_id;
    }
_EOC_

our $S0 = sample(0);

run_tests();

__DATA__

=== TEST 1: ping, a prediction, its errors, management and metrics all carry TorchServe's headers, each with its own UUID
--- http_config eval
main::models_config("digits digits.mar")
--- config eval: $::Config
--- request eval
["GET /ping", "POST /predictions/digits\n$::S0", "POST /predictions/nosuch\n{}",
 "GET /models", "GET /metrics", "GET /"]
--- error_code eval
[200, 200, 404, 200, 200, 405]
--- response_headers_like eval
[($::Headers) x 6]
--- no_error_log
[error]



=== TEST 2: the id differs from request to request and is the one $torchserve_request_id logs
--- http_config eval
main::models_config("digits digits.mar")
--- config eval: $::Config
--- request eval
["GET /ping", "GET /ping"]
--- response_headers_like eval
[($::Headers . "X-Logged-Id: $::Uuid\n") x 2]
--- response_body_like eval
[qr/Healthy/, qr/Healthy/]
--- raw_response_headers_like eval
[qr/x-request-id: (\S+)\r\n.*X-Logged-Id: \1\r\n/s,
 qr/x-request-id: (\S+)\r\n.*X-Logged-Id: \1\r\n/s]
--- no_error_log
[error]



=== TEST 3: a client's (or a proxy's) own x-request-id is kept, on the answer and in the variable
--- http_config eval
main::models_config("digits digits.mar")
--- config eval: $::Config
--- request eval
"POST /predictions/digits\n$::S0"
--- more_headers
X-Request-Id: proxy-7f3a.42:b/c
--- response_headers eval
"x-request-id: proxy-7f3a.42:b/c\nX-Logged-Id: proxy-7f3a.42:b/c\n$::NoCache"
--- no_error_log
[error]



=== TEST 4: an id with other bytes, or too long, is replaced by a UUID, and the log says why
--- http_config eval
main::models_config("digits digits.mar")
--- config eval: $::Config
--- request eval
["GET /ping", "GET /ping"]
--- more_headers eval
["X-Request-Id: two words", "X-Request-Id: " . ("a" x 129)]
--- response_headers_like eval
[($::Headers) x 2]
--- error_log
is not 1-128 letters, digits or "-_.:+=/@~": replaced
--- no_error_log
[error]



=== TEST 5: nginx's own error page in a torchserve location (413) carries them too; a plain location does not
--- http_config eval
main::models_config("digits digits.mar")
--- config eval
"    location /predictions/ { torchserve_inference; client_max_body_size 10; }\n" . $::Config
--- request eval
["POST /predictions/digits\n$::S0", "GET /static"]
--- error_code eval
[413, 200]
--- response_headers_like eval
[$::Headers, "Pragma: \nx-request-id: \n"]



=== TEST 6: a Python handler sees the answer's id as context.get_request_id(), and its own headers stay
--- http_config eval
main::models_config("py_status py_status.mar")
--- config eval: $::Config
--- request eval
["POST /predictions/py_status\n{}", "POST /predictions/py_status\n{}"]
--- more_headers eval
["X-Request-Id: from-the-proxy", ""]
--- error_code eval
[599, 599]
--- response_headers_like eval
["x-request-id: from-the-proxy\nX-Handler-Request-Id: from-the-proxy\nX-Custom-Header: yes\nPragma: no-cache\n",
 "x-request-id: $::Uuid\nX-Handler-Request-Id: $::Uuid\nX-Custom-Header: yes\nPragma: no-cache\n"]
--- raw_response_headers_like eval
[qr/x-request-id: from-the-proxy\r\n/i,
 qr/X-Handler-Request-Id: (\S+)\r\n.*x-request-id: \1\r\n/si]
--- no_error_log
[error]
