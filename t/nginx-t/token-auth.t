# Token authorization (#15, API.md section 8), an option: torchserve_token_auth
# writes TorchServe's key_file.json (0600, the workers' user's), requests
# need "Authorization: Bearer <key>" as TorchServe checks it (same codes,
# messages and exempt routes), GET /token rotates a key for every worker
# process at once, a reload keeps the keys, and an expired key is refused.
# Plain Test::More: the keys are only known once nginx has written them.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use JSON::PP ();
use Test::More;

BEGIN { $ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/../../build/fixtures" }
use lib "$FindBin::Bin/..";
use TorchServeTest;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES}
    || "$FindBin::Bin/../../build/ngx_http_torchserve_module.so";
my $fixtures = $ENV{TEST_NGINX_FIXTURES}
    || "$FindBin::Bin/../../build/fixtures";

my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
mkdir "$dir/logs";

my %port = map { $_ => free_port() } qw(inference management metrics);
my $keyfile = "$dir/key_file.json";
my $expiration = 12;   # seconds
my $user = $> == 0 ? "user nobody " . (getgrnam('nogroup') ? 'nogroup' : 'nobody') . ";" : "";

open my $fh, '>', "$dir/nginx.conf" or die $!;
print $fh <<"_EOC_";
load_module $module;
$user
worker_processes 2;
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;
thread_pool torchserve threads=1;
events { worker_connections 256; }
http {
    log_format auth '\$pid \$status \$uri';
    access_log $dir/logs/access.log auth;
    client_body_temp_path $dir/logs;
    torchserve_thread_pool torchserve;
    torchserve_model_store $fixtures;
    torchserve_model digits digits.mar;
    torchserve_token_auth key_file.json expiration=${expiration}s;
    server { listen 127.0.0.1:$port{inference}; location / { torchserve_inference; } }
    server { listen 127.0.0.1:$port{management}; location / { torchserve_management; } }
    server { listen 127.0.0.1:$port{metrics}; location / { torchserve_metrics; } }
}
_EOC_
close $fh;

# nginx -t writes no key file
my $out = `$nginx -t -p $dir -c $dir/nginx.conf 2>&1`;
is($? >> 8, 0, "nginx -t passes") or diag $out;
ok(!-e $keyfile, "nginx -t writes no key file");

$out = `$nginx -p $dir -c $dir/nginx.conf 2>&1`;
is($? >> 8, 0, "nginx starts") or BAIL_OUT($out);
my $started = time;

END { system("$nginx -p $dir -c $dir/nginx.conf -s stop 2>/dev/null") if $dir; }

my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub keys_now {
    open my $k, '<', $keyfile or return undef;
    local $/;
    my $text = <$k>;
    close $k;
    return JSON::PP::decode_json($text);
}

sub call {
    my ($api, $method, $path, $key, $body) = @_;
    my %h = defined $key ? (Authorization => $key =~ /^Bearer/ ? $key : "Bearer $key") : ();
    $h{'Content-Type'} = 'application/json' if defined $body;
    return $http->request($method, "http://127.0.0.1:$port{$api}$path",
                          { headers => \%h, defined $body ? (content => $body) : () });
}

my $failed = qr/"code": 400,\n  "type": "InvalidKeyException",\n  "message": "Token Authorization failed\. Token either incorrect, expired, or not provided correctly"/;

# the key file, as TorchServe writes it
my $k = keys_now();
ok($k, "the key file is written at start") or BAIL_OUT("no $keyfile");
my @st = stat $keyfile;
is($st[2] & 07777, 0600, "mode 0600");
is($st[4], scalar getpwnam('nobody'), "owned by the worker processes' user") if $> == 0;
for my $t (qw(management inference API)) {
    like($k->{$t}{key}, qr/^[A-Za-z0-9_-]{8}$/, "$t key: 8 characters of base64url");
}
for my $t (qw(management inference)) {
    like($k->{$t}{'expiration time'}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
         "$t expiration: an ISO-8601 instant");
}
ok(!exists $k->{API}{'expiration time'}, "the API key never expires");
my %key = map { $_ => $k->{$_}{key} } qw(management inference API);

# ready (the workers load digits after listening)
my $r;
for (1 .. 100) {
    $r = call(inference => GET => '/ping', $key{inference});
    last if $r->{status} == 200 && $r->{content} =~ /Healthy/;
    select undef, undef, undef, 0.1;
}
is($r->{status}, 200, "/ping with the inference key") or diag $r->{content};

# inference: every route needs the inference key, /ping included
$r = call(inference => GET => '/ping');
is($r->{status}, 400, "/ping without a token: 400");
like($r->{content}, $failed, "TorchServe's InvalidKeyException");
$r = call(inference => GET => '/ping', $key{management});
is($r->{status}, 400, "/ping with the management key: 400");
$r = call(inference => GET => '/ping', "bearer $key{inference}");
is($r->{status}, 400, "a lower-case bearer: 400");
$r = call(inference => GET => '/ping', "Bearer $key{inference} x");
is($r->{status}, 400, "a token with a space: 400");
$r = call(inference => GET => '/ping', "Bearer  \t$key{inference}");
is($r->{status}, 200, "spaces after Bearer: fine");
$r = call(inference => POST => '/predictions/digits', $key{inference}, sample(0));
is($r->{status}, 200, "a prediction with the key");
is(close_to("digits", 0)->($r->{content}), "close\n", "with the model's answer");
$r = call(inference => POST => '/v2/models/digits/infer', undef, '{}');
is($r->{status}, 400, "v2 without a token: 400");

# the descriptions need none, on both APIs; metrics never do
for my $api (qw(inference management)) {
    $r = call($api => OPTIONS => '/');
    is($r->{status}, 200, "$api: OPTIONS / needs no token");
    $r = call($api => GET => '/api-description');
    is($r->{status}, 200, "$api: /api-description needs no token");
}
$r = call(metrics => GET => '/metrics');
is($r->{status}, 200, "metrics need no token");

# management: the management key
$r = call(management => GET => '/models');
is($r->{status}, 400, "management without a token: 400");
like($r->{content}, $failed, "the same message");
$r = call(management => GET => '/models', $key{inference});
is($r->{status}, 400, "management with the inference key: 400");
$r = call(management => GET => '/models', $key{management});
is($r->{status}, 200, "management with its key");
like($r->{content}, qr/"modelName": "digits"/, "the list");

# the token API: the API key only, a known type only
my $tfailed = qr/"message": "Token Authentication failed\. Token either incorrect, expired, or not provided correctly"/;
$r = call(management => GET => '/token?type=inference', $key{management});
is($r->{status}, 400, "/token with the management key: 400");
like($r->{content}, $tfailed, "TorchServe's message");
$r = call(management => GET => '/token?type=bogus', $key{API});
is($r->{status}, 400, "/token with an unknown type: 400");
is(keys_now()->{inference}{key}, $key{inference}, "no key changed");

$r = call(management => GET => '/token?type=inference', $key{API});
is($r->{status}, 200, "/token?type=inference with the API key");
is($r->{content}, "\n", "answers a newline");
$k = keys_now();
isnt($k->{inference}{key}, $key{inference}, "a new inference key in the file");
is($k->{management}{key}, $key{management}, "the management key unchanged");
is($k->{API}{key}, $key{API}, "the API key unchanged");
my $old = $key{inference};
$key{inference} = $k->{inference}{key};

# every worker process at once: many fresh connections, both processes
truncate "$dir/logs/access.log", 0;
my ($old_ok, $new_ok) = (0, 0);
for (1 .. 40) {
    $old_ok++ if call(inference => GET => '/ping', $old)->{status} == 200;
    $new_ok++ if call(inference => GET => '/ping', $key{inference})->{status} == 200;
}
is($old_ok, 0, "the old inference key is refused on every connection");
is($new_ok, 40, "the new one is taken on every connection");
open my $log, '<', "$dir/logs/access.log" or die $!;
my %pids;
while (<$log>) { $pids{$1} = 1 if m{^(\d+) 200 /ping$} }
close $log;
is(scalar keys %pids, 2, "both worker processes took the new key")
    or diag join ' ', keys %pids;

# a reload keeps the keys
my ($master) = `cat $dir/logs/nginx.pid` =~ /(\d+)/;
kill 'HUP', $master;
my $kept = 0;
for (1 .. 50) {
    select undef, undef, undef, 0.2;
    my @w = `ps -o pid= --ppid $master`;
    my $r2 = call(inference => GET => '/ping', $key{inference});
    if ($r2->{status} == 200 && !grep { my $p = $_ + 0; $pids{$p} } @w) { $kept = 1; last }
}
ok($kept, "after a reload, new worker processes take the same key");
is(keys_now()->{inference}{key}, $key{inference}, "the file keeps it too");

# past the expiration: the keys made at start are refused
my $wait = $started + $expiration + 1 - time;
sleep $wait if $wait > 0;
$r = call(management => GET => '/models', $key{management});
is($r->{status}, 400, "an expired management key: 400");
$r = call(management => GET => '/token?type=management', $key{API});
is($r->{status}, 200, "the API key still rotates it");
$key{management} = keys_now()->{management}{key};
$r = call(management => GET => '/models', $key{management});
is($r->{status}, 200, "the new management key works");

done_testing();
