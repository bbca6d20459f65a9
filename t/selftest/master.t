# Self-test: master_on() and workers(2) give a master with two workers.
# Run: prove -I t/lib t/selftest/

use File::Spec ();

BEGIN {
    delete @ENV{qw(TEST_NGINX_LOAD_MODULES TEST_NGINX_USE_HUP
                   TEST_NGINX_SERVER_PORT TEST_NGINX_CLIENT_PORT)};
    $ENV{TEST_NGINX_PORT} = 19852;
    $ENV{TEST_NGINX_SERVROOT} = File::Spec->tmpdir
                                . "/test-nginx-selftest-$<-master";
}

use Test::Nginx::Socket;

master_on();
workers(2);

# 3 per block, plus the worker count checked after each block
plan tests => repeat_each() * blocks() * 3 + blocks();

# the children of the pid in nginx.pid, zombies excluded
sub live_children {
    my $pid = shift;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @kids, $1
            if $line =~ /^(\d+) \(.*\) ([^Z]) (\d+) /s && $3 == $pid;
    }
    return @kids;
}

add_test_cleanup_handler(sub {
    my $block = shift;
    open my $fh, '<', server_root() . '/logs/nginx.pid'
        or return fail($block->name . " - no pid file: $!");
    chomp(my $master = <$fh>);
    is(scalar(live_children($master)), 2,
       $block->name . " - the master has 2 workers");
});

run_tests();

__DATA__

=== TEST 1: a worker answers
--- config
    location = /t { return 200 "worker $pid"; }
--- request
GET /t
--- response_body_like: ^worker \d+$
--- error_log eval
qr/start worker process \d+/



=== TEST 2: files served by workers running as the configured user
--- config
    location /f/ { root html; }
--- user_files
>>> f/a.txt
from a worker
--- request
GET /f/a.txt
--- response_body
from a worker
--- error_log
start worker processes
