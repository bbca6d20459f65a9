# Self-test of t/lib/Test/Nginx/Socket.pm against Debian's stock nginx,
# using plain nginx features only.  Run: prove -I t/lib t/selftest/
#
# It takes its own port and server root, and ignores the module under
# test, so it can run next to (or inside) "prove -r t/".

use File::Spec ();

BEGIN {
    delete @ENV{qw(TEST_NGINX_LOAD_MODULES TEST_NGINX_USE_HUP
                   TEST_NGINX_SERVER_PORT TEST_NGINX_CLIENT_PORT)};
    $ENV{TEST_NGINX_PORT} = 19851;
    $ENV{TEST_NGINX_SERVROOT} = File::Spec->tmpdir
                                . "/test-nginx-selftest-$<-runner";
    $ENV{TEST_NGINX_SELFTEST_VAR} = 'from-env';
}

use Test::Nginx::Socket;

repeat_each(2);

# subtests per block and repetition, in block order (see the POD of
# t/lib/Test/Nginx/Socket.pm for the rules)
my @per_block = (6, 4, 3, 2, 2, 6, 4, 2, 2, 5, 3, 4, 3, 4, 1, 2, 3, 2, 2,
                 2, 4, 3, 2, 3, 2);
my $total = 0;
$total += $_ for @per_block;
die "block count changed: update \@per_block\n" if @per_block != blocks();

plan tests => repeat_each() * $total;

# the usual boilerplate: blocks without a request get "GET /t"
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(request => "GET /t") unless defined $block->request;
});

env_to_nginx('TEST_NGINX_SELFTEST_VAR');

run_tests();

__DATA__

=== TEST 1: return 200, default request from the preprocessor
--- config
    location = /t { return 200 "hello"; }
--- response_body chomp
hello
--- response_headers
Content-Type: text/plain
Content-Length: 5
!X-Absent
--- no_error_log
[error]



=== TEST 2: add_header and response_headers_like
--- config
    location = /t {
        add_header X-Foo "bar baz";
        return 200 "ok\n";
    }
--- response_headers_like
X-Foo: bar \w+
Server: nginx.*
--- response_body
ok



=== TEST 3: error_code, response_body_like, raw_response_headers_like
--- config
    location = /t { return 404; }
--- error_code: 404
--- response_body_like: 404 Not Found
--- raw_response_headers_like: ^HTTP/1\.1 404 Not Found\r\n



=== TEST 4: more_headers reach nginx
--- config
    location = /t { return 200 "foo=$http_foo bar=$http_x_bar"; }
--- more_headers
Foo: hello
# a comment line
X-Bar: world
--- response_body chomp
foo=hello bar=world



=== TEST 5: a request body gets a trimmed Content-Length
--- config
    location = /t { return 200 "len=$content_length method=$request_method"; }
--- request
POST /t
hello world

--- response_body chomp
len=11 method=POST



=== TEST 6: request eval array: expected values are arrays
--- config
    location = /a { return 200 "a"; }
    location = /b { return 404 "b"; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 404]
--- response_body eval
["a", "b"]
--- no_error_log
[error]



=== TEST 7: pipelined requests share one keep-alive connection
--- config
    location = /a { return 200 "a $connection_requests"; }
    location = /b { return 200 "b $connection_requests"; }
--- pipelined_requests eval
["GET /a", "GET /b"]
--- response_body eval
["a 1", "b 2"]



=== TEST 8: response_body_filters by name
--- config
    location = /t { return 200 "Hello"; }
--- response_body_filters
uc
--- response_body chomp
HELLO



=== TEST 9: response_body_filters: code ref then a name
--- config
    location = /t { return 200 "Hello"; }
--- response_body_filters eval
[\&CORE::lc, "length"]
--- response_body chomp
5



=== TEST 10: error_log and no_error_log with strings and regexes
--- config
    # served by the default "location /" (root html)
--- request
GET /nope.html
--- error_code: 404
--- error_log eval
['open() "', qr/\[error\] .*No such file or directory/]
--- no_error_log eval
[qr/\[crit\]/, "[alert]"]



=== TEST 11: grep_error_log
--- config
    rewrite_log on;
    location /old/ { rewrite ^/old/(.*)$ /new/$1 last; }
    location /new/ { return 200 "new:$uri"; }
--- request
GET /old/x
--- response_body chomp
new:/new/x
--- grep_error_log eval
qr/rewritten data: "[^"]*"/
--- grep_error_log_out
rewritten data: "/new/x"



=== TEST 12: user_files are served from html/
--- config
    # served by the default "location /" (root html)
--- user_files
>>> foo.txt
Hello from a file
>>> sub/bar.txt
bar
--- request eval
["GET /foo.txt", "GET /sub/bar.txt"]
--- response_body eval
["Hello from a file\n", "bar\n"]



=== TEST 13: a chunked response (sub_filter drops Content-Length)
--- config
    location /foo.txt {
        root html;
        sub_filter 'Hello' 'Bye';
        sub_filter_types text/plain;
    }
--- user_files
>>> foo.txt
Hello world
--- request
GET /foo.txt
--- raw_response_headers_like: Transfer-Encoding: chunked\r\n
--- response_body
Bye world



=== TEST 14: a request body sent as two packets with a delay
--- config
    location /up { dav_methods PUT; root html; }
--- request eval
[["PUT /up.txt\nhel", {value => "lo", delay_before => 0.1}], "GET /up.txt"]
--- error_code_like eval
["^20[14]\$", "^200\$"]
--- response_body eval
["", "hello"]



=== TEST 15: client timeout with abort is not a failure
--- config
    location /up { dav_methods PUT; root html; }
--- raw_request eval
"PUT /up/slow.txt HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Length: 100\r
\r
hello"
--- timeout: 300ms
--- abort
--- ignore_response
--- no_error_log
[alert]



=== TEST 16: raw_request is sent as is
--- config
    location = /t { return 200 "proto=$server_protocol"; }
--- raw_request eval
"GET /t HTTP/1.0\r\n\r\n"
--- response_body chomp
proto=HTTP/1.0



=== TEST 17: HEAD has headers and no body
--- config
    location = /t { return 200 "hello"; }
--- request
HEAD /t
--- response_headers
Content-Length: 5
--- response_body chomp



=== TEST 18: $TEST_NGINX_* in config and expected body, $ServerPort
--- config
    location = /t {
        return 200 "port=$TEST_NGINX_SERVER_PORT var=$TEST_NGINX_SELFTEST_VAR";
    }
--- response_body chomp
port=$ServerPort var=$TEST_NGINX_SELFTEST_VAR



=== TEST 19: http_config with a random port, proxied to
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "backend"; }
    }
--- config
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/; }
--- response_body chomp
backend



=== TEST 20: main_config goes to the top level (thread_pool)
--- main_config
    thread_pool selftest_pool threads=2;
--- config
    location /foo.txt { aio threads=selftest_pool; root html; }
--- user_files
>>> foo.txt
pooled
--- request
GET /foo.txt
--- response_body
pooled



=== TEST 21: log_level per block
--- log_level: warn
--- config
    location = /t { return 200 "quiet"; }
--- response_body chomp
quiet
--- no_error_log
[debug]
[notice]



=== TEST 22: must_die with a bad directive
--- config
    location = /t { selftest_no_such_directive on; }
--- must_die
--- suppress_stderr
--- error_log
[emerg]
unknown directive "selftest_no_such_directive"



=== TEST 23: response_body eval with a regex
--- config
    location = /t { return 200 "hello"; }
--- response_body eval
qr/^hel+o$/



=== TEST 24: error_code_like, response_body_unlike, Location with $ServerPort
--- config
    location = /t { return 302 /x; }
--- error_code_like: ^30[12]$
--- response_body_unlike: hello
--- response_headers
Location: http://localhost:$ServerPort/x



=== TEST 25: skip_eval skips the given number of subtests
--- config
    location = /t { selftest_would_not_start; }
--- skip_eval: 2: 1
--- response_body
never checked



=== TEST 26: SKIP blocks are not run nor counted
--- config
    location = /t { selftest_would_not_start; }
--- response_body
never checked
--- SKIP
