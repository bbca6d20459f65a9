# Self-test of how t/lib/Test/Nginx/Socket.pm reports: failures, bail-outs,
# ONLY, skip_all and no_plan.  Each case is a small .t file run in a child
# perl with t/lib first in @INC; we check the TAP it prints.
# Run: prove -I t/lib t/selftest/

use strict;
use warnings;

use File::Spec ();
use File::Temp qw(tempdir);
use FindBin ();
use Test::More;

my $lib = "$FindBin::Bin/../lib";
my $dir = tempdir('test-nginx-meta-XXXXXX', TMPDIR => 1, CLEANUP => 1);

local $ENV{TEST_NGINX_PORT} = 19855;
local $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot";
delete local $ENV{TEST_NGINX_LOAD_MODULES};
delete local $ENV{TEST_NGINX_USE_HUP};
delete local $ENV{TEST_NGINX_SERVER_PORT};
delete local $ENV{TEST_NGINX_CLIENT_PORT};
delete local $ENV{TEST_NGINX_SELFTEST_UNDEFINED};

# Write $code to a .t file, run it, return its stdout and stderr together.
sub run_t {
    my ($name, $code) = @_;
    my $file = "$dir/$name.t";
    open my $out, '>', $file or die "$file: $!";
    print $out $code;
    close $out;
    return scalar `'$^X' -I'$lib' '$file' 2>&1`;
}

my $out = run_t('undefined_var', <<'EOF');
use Test::Nginx::Socket;
plan tests => blocks() * 2;
run_tests();
__DATA__

=== TEST 1: undefined variable
--- config
    location = /t { return 200 "$TEST_NGINX_SELFTEST_UNDEFINED"; }
--- request
GET /t
--- response_body chomp
x
EOF
like($out, qr/^Bail out!\s+\S+ TEST 1: undefined variable - No environment (?#
               )TEST_NGINX_SELFTEST_UNDEFINED defined/m,
     'an undefined $TEST_NGINX_* bails out');

$out = run_t('timeout', <<'EOF');
use Test::Nginx::Socket;
plan tests => blocks() * 2;
run_tests();
__DATA__

=== TEST 1: slow
--- config
    location /up { dav_methods PUT; root html; }
--- raw_request eval
"PUT /up/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9\r\n\r\nab"
--- timeout: 0.2
--- error_code:
--- response_body:
EOF
like($out, qr/^not ok 1 - ERROR: client socket timed out - \S+ TEST 1: slow$/m,
     'a timeout without abort is one more failed subtest');
like($out, qr/^ok 2 - \S+ TEST 1: slow - status code ok$/m,
     '... and the checks still run on what was received');

$out = run_t('mismatch', <<'EOF');
use Test::Nginx::Socket;
plan tests => blocks() * 3;
run_tests();
__DATA__

=== TEST 1: mismatch
--- config
    location = /t { return 200 "hello\nworld\n"; }
--- request
GET /t
--- error_code: 201
--- response_body
hello
there
--- no_error_log
[error]
EOF
like($out, qr/^not ok 1 - \S+mismatch\.t TEST 1: mismatch - status code ok$/m,
     'status code failure is named like the real one');
like($out, qr/^not ok 2 - \S+ TEST 1: mismatch - response_body - response (?#
               )is expected \(repeated req 0, req 0\)$/m,
     'body failure is named like the real one');
like($out, qr/^#\s+-there$/m, 'body failure shows a diff (expected)');
like($out, qr/^#\s+\+world$/m, 'body failure shows a diff (got)');
like($out, qr/^ok 3 - \S+ TEST 1: mismatch - pattern "\[error\]" does not (?#
               )match a line in error.log \(req 0\)$/m,
     'no_error_log passes');

$out = run_t('only', <<'EOF');
use Test::Nginx::Socket;
plan tests => blocks() * 2;
run_tests();
__DATA__

=== TEST 1: not run
--- config
    location = /t { return 500; }
--- request
GET /t
--- response_body
nope

=== TEST 2: the only one
--- config
    location = /t { return 200 "yes"; }
--- request
GET /t
--- response_body chomp
yes
--- ONLY
EOF
like($out, qr/^1\.\.2$/m, 'ONLY: blocks() counts one block');
like($out, qr/^ok 2 - \S+ TEST 2: the only one - response_body/m,
     'ONLY: that block runs');
unlike($out, qr/TEST 1/, 'ONLY: the others do not');

$out = run_t('skip_all', <<'EOF');
use Test::Nginx::Socket skip_all => 'not today';
run_tests();
__DATA__

=== TEST 1: never
--- config
--- request
GET /
EOF
like($out, qr/^1\.\.0 # SKIP not today$/m, 'skip_all on the use line');

$out = run_t('no_plan', <<'EOF');
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__

=== TEST 1: counted at the end
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chomp
ok
EOF
like($out, qr/^ok 2 - .*\n1\.\.2$/m, "'no_plan' on the use line");

$out = run_t('no_config', <<'EOF');
use Test::Nginx::Socket;
plan tests => blocks() * 2;
run_tests();
__DATA__

=== TEST 1: no config and nothing before
--- request
GET /
EOF
like($out, qr/^Bail out!.*No '--- config' section specified/m,
     'a first block without config bails out');

$out = run_t('need_array', <<'EOF');
use Test::Nginx::Socket;
plan tests => blocks() * 4;
run_tests();
__DATA__

=== TEST 1: two requests, one expected body
--- config
    location = /t { return 200 "ok"; }
--- request eval
["GET /t", "GET /t"]
--- response_body: ok
EOF
like($out, qr/^Bail out!.*You asked for many requests, the expected (?#
               )results should be arrays as well/m,
     'several requests need arrays of expected values');

done_testing();
