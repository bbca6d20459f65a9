# Self-test: TEST_NGINX_LOAD_MODULES becomes load_module lines (seen here
# through nginx failing to load a module that does not exist).
# Run: prove -I t/lib t/selftest/

use File::Spec ();

BEGIN {
    delete @ENV{qw(TEST_NGINX_USE_HUP
                   TEST_NGINX_SERVER_PORT TEST_NGINX_CLIENT_PORT)};
    $ENV{TEST_NGINX_LOAD_MODULES} = '/nonexistent/ngx_selftest_a.so '
                                    . '/nonexistent/ngx_selftest_b.so';
    $ENV{TEST_NGINX_PORT} = 19854;
    $ENV{TEST_NGINX_SERVROOT} = File::Spec->tmpdir
                                . "/test-nginx-selftest-$<-load";
}

use Test::Nginx::Socket;

# must_die: 1 + one per error_log pattern
plan tests => repeat_each() * blocks() * 3;

run_tests();

__DATA__

=== TEST 1: the first module is loaded first
--- config
    location = /t { return 200; }
--- must_die
--- suppress_stderr
--- error_log
[emerg]
dlopen() "/nonexistent/ngx_selftest_a.so" failed
