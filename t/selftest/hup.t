# Self-test: TEST_NGINX_USE_HUP=1 reloads one master with HUP between
# blocks instead of restarting it; must_die still starts from scratch.
# Run: prove -I t/lib t/selftest/

use File::Spec ();

BEGIN {
    delete @ENV{qw(TEST_NGINX_LOAD_MODULES
                   TEST_NGINX_SERVER_PORT TEST_NGINX_CLIENT_PORT)};
    $ENV{TEST_NGINX_USE_HUP} = 1;
    $ENV{TEST_NGINX_PORT} = 19853;
    $ENV{TEST_NGINX_SERVROOT} = File::Spec->tmpdir
                                . "/test-nginx-selftest-$<-hup";
}

use Test::Nginx::Socket;

no_shuffle();

# "--- selftest_master: same|new" (a section the runner ignores) compares
# the master pid with the previous block's, one subtest each.
my $prev_master;
my $checks = grep { defined $_->selftest_master } blocks();

# blocks 1 to 6 have 2, 3, 3 (must_die), 2, 3 and 2 subtests
plan tests => 2 + 3 + 3 + 2 + 3 + 2 + $checks;

add_test_cleanup_handler(sub {
    my $block = shift;
    my $master;
    if (open my $fh, '<', server_root() . '/logs/nginx.pid') {
        chomp($master = <$fh>);
    }
    if (defined(my $want = $block->selftest_master)) {
        if ($want eq 'same') {
            is($master, $prev_master, $block->name . " - same master");
        } else {
            isnt($master, $prev_master, $block->name . " - new master");
        }
    }
    $prev_master = $master;
});

run_tests();

__DATA__

=== TEST 1: first block starts nginx from scratch
--- config
    location = /t { return 200 "one"; }
--- request
GET /t
--- response_body chomp
one



=== TEST 2: second block reloads it
--- config
    location = /t { return 200 "two"; }
--- request
GET /t
--- response_body chomp
two
--- error_log
reconfiguring
--- selftest_master: same



=== TEST 3: must_die is not a reload
--- config
    location = /t { selftest_no_such_directive; }
--- must_die
--- suppress_stderr
--- error_log
[emerg]
unknown directive "selftest_no_such_directive"



=== TEST 4: after must_die, a fresh nginx
--- config
    location = /t { return 200 "four"; }
--- request
GET /t
--- response_body chomp
four
--- selftest_master: new



=== TEST 5: and a reload again
--- config
    location = /t { return 200 "five"; }
--- request
GET /t
--- response_body chomp
five
--- error_log
reconfiguring
--- selftest_master: same



=== TEST 6: no config section: the running nginx is kept
--- request
GET /t
--- response_body chomp
five
--- selftest_master: same
