package TorchServeTest;

# Helpers shared by t/*.t: where the fixtures are, their files, and a
# response_body_filters sub that compares a JSON answer with the output
# Python computed for the same input (t/make_fixtures.py), to 1e-5.
# Plain Perl (JSON::PP is core): the .t files stay runnable by CPAN's
# Test::Nginx as well as by t/lib's runner.

use strict;
use warnings;

use FindBin;
use JSON::PP ();
use Exporter 'import';

our @EXPORT = qw(fixture fixture_path expected close_to close_to_each sample
                 mnist_sample reload_while_serving post_location
                 requests_in_background add_block_defaults models_config
                 fan_out $ApiLocations python_expected put_location
                 vision_expected probe_close close_to_data free_port
                 wait_for wait_ready keepalive_dialogue
                 stray_connections);

$ENV{TEST_NGINX_FIXTURES} ||= "$FindBin::Bin/../build/fixtures";

sub fixture_path {
    my ($name) = @_;
    return "$ENV{TEST_NGINX_FIXTURES}/$name";
}

sub fixture {
    my ($name) = @_;
    my $path = fixture_path($name);
    open my $fh, '<', $path
        or die "cannot read $path: $! (run 'make fixtures' first)\n";
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data;
}

my $expected;

sub expected {
    my ($key, $index) = @_;
    $expected ||= JSON::PP::decode_json(fixture('expected.json'));
    my $v = $expected->{$key};
    die "no expected output '$key'\n" unless defined $v;
    return defined $index ? $v->[$index] : $v;
}

my $python_expected;

# a field of a Python flow's expected answer (t/python/make_python_fixtures.py)
sub python_expected {
    my ($flow, $field) = @_;
    $python_expected ||= JSON::PP::decode_json(fixture('python_expected.json'));
    my $v = $python_expected->{$flow};
    die "no Python flow '$flow'\n" unless defined $v;
    die "no '$field' for '$flow'\n" unless exists $v->{$field};
    return $v->{$field};
}

my $vision_expected;

# the vision handlers' expected answer for an image, or the image list
# (t/images/make_vision_fixtures.py)
sub vision_expected {
    my ($kind, $image) = @_;
    $vision_expected ||= JSON::PP::decode_json(fixture('vision_expected.json'));
    my $v = $vision_expected->{$kind};
    die "no vision answers '$kind'\n" unless defined $v;
    return $v unless defined $image;
    die "no '$kind' answer for '$image'\n" unless exists $v->{$image};
    return $v->{$image};
}

# response_body_filters: "close\n" when the answer's numbers, in order,
# are the preprocessed tensor torchvision made of this image (float32
# file) within 1e-6 each, else where they differ
sub probe_close {
    my ($image) = @_;
    my @want = unpack 'f<*', fixture(vision_expected('probe', $image));

    return sub {
        my ($body) = @_;
        my @got = $body =~ /(-?[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?)/g;
        return "got " . scalar(@got) . " numbers, expected "
               . scalar(@want) . "\n" unless @got == @want;
        for my $i (0 .. $#want) {
            return "element $i: got $got[$i], expected $want[$i]\n"
                if abs($got[$i] - $want[$i]) > 1e-6;
        }
        return "close\n";
    };
}

# nginx.conf text: the fixtures' store and these torchserve_model lines
sub models_config {
    return join '', "    torchserve_model_store \$TEST_NGINX_FIXTURES;\n",
                    map { "    torchserve_model $_;\n" } @_;
}

# nginx.conf text: the Management API and the inference API
our $ApiLocations = <<'_EOC_';
    location /models { torchserve_management; }
    location / { torchserve_inference; }
_EOC_

# a user file: an SSI page of N includes of VIRTUAL (WAIT: one at a time)
sub fan_out {
    my ($name, $n, $virtual, $wait) = @_;
    my $attrs = $wait ? ' wait="yes"' : '';
    return ">>> $name\n"
           . ("<!--# include virtual=\"$virtual\"$attrs -->" x $n);
}

# a block preprocessor: each section a block leaves unset gets its
# default (no_error_log none where the block expects nginx to die)
sub add_block_defaults {
    my (%default) = @_;
    # Test::Nginx's own (CPAN's and t/lib's), called past its prototype
    &Test::Nginx::Util::add_block_preprocessor(sub {
        my $block = shift;
        for my $section (sort keys %default) {
            next if defined $block->$section;
            next if $section eq 'no_error_log' && defined $block->must_die;
            $block->set_value($section, $default{$section});
        }
    });
}

# From a block's `--- init`: until GET PATH on its nginx answers a body
# where RE matches at least N times (default 1), up to 60 s; for blocks
# whose first request needs a model that loads in the thread pool after
# nginx starts
sub wait_for {
    my ($path, $re, $n) = @_;
    $n ||= 1;
    my $url = "http://127.0.0.1:$Test::Nginx::Util::ServerPort$path";
    for (1 .. 120) {
        my $out = `curl -s '$url'`;
        my $k = () = $out =~ /$re/g;
        return if $k >= $n;
        select(undef, undef, undef, 0.5);
    }
}

# until N worker processes have each MODEL loaded (describe says READY)
sub wait_ready {
    my ($n, @models) = @_;
    wait_for("/models/$_", qr/"status": "READY"/, $n) for @models;
}

# nginx.conf text: "location = NAME" PUTs to PATH on this test server
sub put_location {
    my ($name, $path) = @_;
    return <<"_EOC_";
    location = $name {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT$path;
        proxy_method PUT;
        proxy_pass_request_body off;
    }
_EOC_
}

# nginx.conf text: "location = NAME" POSTs BODY to PATH on this test
# server; a page of SSI includes of it makes concurrent predictions out of
# one test request (EXTRA: more directives for the location)
sub post_location {
    my ($name, $path, $body, $extra) = @_;
    $extra = defined $extra ? "\n        $extra" : '';
    return <<"_EOC_";
    location = $name {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT$path;
        proxy_method POST;
        proxy_pass_request_body off;
        proxy_set_header Content-Type application/json;
        proxy_set_body '$body';$extra
    }
_EOC_
}

# a TCP port of 127.0.0.1 that nothing listens on (for the t/nginx-t files
# that start servers of their own)
sub free_port {
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp') or die $!;
    my $port = $s->sockport;
    close $s;
    return $port;
}

my $samples;

# the JSON text of digits sample i (t/make_fixtures.py's digits_samples)
sub sample {
    my ($i) = @_;
    $samples ||= JSON::PP::decode_json(fixture('digits_samples.json'));
    return JSON::PP::encode_json($samples->[$i]);
}

sub _compare {
    my ($got, $want, $path) = @_;

    if (ref $want eq 'ARRAY') {
        return "$path: expected an array\n" unless ref $got eq 'ARRAY';
        return "$path: expected " . scalar(@$want) . " elements, got "
            . scalar(@$got) . "\n" unless @$got == @$want;
        for my $i (0 .. $#$want) {
            my $d = _compare($got->[$i], $want->[$i], "$path\[$i]");
            return $d if $d;
        }
        return '';
    }

    if (ref $want eq 'HASH') {
        return "$path: expected an object\n" unless ref $got eq 'HASH';
        my $gk = join ',', sort keys %$got;
        my $wk = join ',', sort keys %$want;
        return "$path: keys $gk, expected $wk\n" unless $gk eq $wk;
        for my $k (sort keys %$want) {
            my $d = _compare($got->{$k}, $want->{$k}, "$path\{$k}");
            return $d if $d;
        }
        return '';
    }

    $got = $got ? 1 : 0 if JSON::PP::is_bool($got);
    $want = $want ? 1 : 0 if JSON::PP::is_bool($want);

    return "$path: got " . (ref $got || $got // 'null') . ", expected $want\n"
        if ref $got || !defined $got;

    # names, ids, datatypes: the same text
    if ($want !~ /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/) {
        return $got eq $want ? '' : "$path: got \"$got\", expected \"$want\"\n";
    }

    my $tol = 1e-5 * (abs($want) > 1 ? abs($want) : 1);
    return "$path: got $got, expected $want\n" if abs($got - $want) > $tol;
    return '';
}

# response_body_filters: "close\n" when the JSON body matches, else why not
sub close_to {
    my ($key, $index) = @_;
    my $want = expected($key, $index);

    return sub {
        my ($body) = @_;
        my $got = eval { JSON::PP->new->allow_nonref->decode($body) };
        return "not JSON: $@ in: $body\n" if $@;
        my $diff = _compare($got, $want, '$');
        return $diff eq '' ? "close\n" : $diff;
    };
}

# response_body_filters: "close\n" when the JSON body matches the Perl
# structure $want (numbers within 1e-5, relative above 1), else why not;
# $pick, if given, picks the part of the decoded body to compare
sub close_to_data {
    my ($want, $pick) = @_;

    return sub {
        my ($body) = @_;
        my $got = eval { JSON::PP->new->allow_nonref->decode($body) };
        return "not JSON: $@ in: $body\n" if $@;
        $got = $pick->($got) if $pick;
        my $diff = _compare($got, $want, '$');
        return $diff eq '' ? "close\n" : $diff;
    };
}

my $mnist;

# the JSON text of MNIST-shaped sample i (1x28x28)
sub mnist_sample {
    my ($i) = @_;
    $mnist ||= JSON::PP::decode_json(fixture('mnist_samples.json'));
    return JSON::PP::encode_json($mnist->[$i]);
}

# the same for a body that concatenates $count JSON arrays (SSI fan-out)
sub close_to_each {
    my ($key, $index, $count) = @_;
    my $one = close_to($key, $index);

    return sub {
        my ($body) = @_;
        my @parts = split /(?<=\])\s*(?=\[)/, $body;
        return "got " . scalar(@parts) . " answers, expected $count\n"
            unless @parts == $count;
        for my $p (@parts) {
            my $r = $one->($p);
            return $r unless $r eq "close\n";
        }
        return "close\n";
    };
}

# From a child process: once 50 requests matching $pattern show in the
# access log (a fan-out under way), sends HUP to the master $count times,
# $interval seconds apart.  Uses the runner's PidFile and LogDir, which
# CPAN's Test::Nginx::Util has too.
sub reload_while_serving {
    my ($pattern, $count, $interval) = @_;
    my $pidfile = $Test::Nginx::Util::PidFile;
    my $access = "$Test::Nginx::Util::LogDir/access.log";
    my $pid = fork();

    die "fork failed: $!" unless defined $pid;
    return if $pid;

    for (1 .. 600) {
        select(undef, undef, undef, 0.05);
        open my $log, '<', $access or next;
        my $n = grep { /$pattern/ } <$log>;
        close $log;
        last if $n >= 50;
    }

    for (1 .. $count) {
        open my $fh, '<', $pidfile or last;
        my $master = <$fh>;
        close $fh;
        chomp $master;
        kill 'HUP', $master if $master;
        select(undef, undef, undef, $interval);
    }

    require POSIX;
    POSIX::_exit(0);
}

# From a child process: each [DELAY, RAW] of @plan is sent on a
# connection of its own DELAY seconds after this block's nginx first
# answers (the block's own request goes out then too); the answers are
# read and dropped; a RAW of 'HUP' sends SIGHUP to the master instead (a
# reload).  For requests that must arrive while the block's request is
# under way.  Call it from the block's `--- init` section, which both
# runners evaluate once the block's nginx has started (not from an
# `eval` section: Test::Base may filter every block before the first
# runs).  Delays are multiplied by $ENV{TS_TEST_SLOWDOWN}
# (make test-valgrind).
sub requests_in_background {
    my @plan = @_;
    my $slowdown = $ENV{TS_TEST_SLOWDOWN} || 1;
    my $pidfile = $Test::Nginx::Util::PidFile;
    my $port = $Test::Nginx::Util::ServerPortForClient;
    my $pid = fork();

    die "fork failed: $!" unless defined $pid;
    return if $pid;

    require IO::Socket::INET;
    require Time::HiRes;

    my $up;
    for (1 .. 1200) {
        my $now = _read_pid($pidfile);
        if ($now && kill 0, $now) {
            # an answer, not a connect: the kernel accepts before nginx
            # has loaded its models
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                          Timeout => 10);
            if ($s) {
                print $s "GET /ping HTTP/1.0\r\n\r\n";
                my $status = <$s>;
                close $s;
                if (defined $status) { $up = 1; last; }
            }
        }
        Time::HiRes::sleep(0.05);
    }

    my $t0 = Time::HiRes::time();
    my @socks;

    if ($up) {
        for my $step (sort { $a->[0] <=> $b->[0] } @plan) {
            my $wait = $t0 + $step->[0] * $slowdown - Time::HiRes::time();
            Time::HiRes::sleep($wait) if $wait > 0;
            if ($step->[1] eq 'HUP') {
                # nginx -s reload
                my $master = _read_pid($pidfile);
                kill 'HUP', $master if $master;
                next;
            }
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
                or next;
            print $s $step->[1];
            push @socks, $s;
        }

        # drain every answer, for 30 s at most
        for my $s (@socks) {
            local $SIG{ALRM} = sub { die "timeout\n" };
            my $left = $t0 + 30 * $slowdown - Time::HiRes::time();
            last if $left <= 0;
            alarm(int($left) + 1);
            eval { 1 while <$s>; };
            alarm(0);
            close $s;
        }
    }

    require POSIX;
    POSIX::_exit(0);
}

# One keepalive connection that a worker process holds while another
# answers its predictions (the holder's interpreter is busy), then $more
# predictions on it: a line "held H answered P" for each, H the holder's
# pid (the X-Nginx-Pid header the test's location adds), P the whoami
# handler's.  A connection the idle process holds (it answers itself) is
# closed and another one opened, 40 times at most.  The lines go to
# $file in the html folder, for the block's request to read.  $host: the
# address to connect to (127.0.0.1 unless given; "::1" for an IPv6
# listener on the test's port).
sub keepalive_dialogue {
    my ($file, $more, $settle, $host) = @_;
    my $port = $Test::Nginx::Util::ServerPortForClient;
    my @lines;

    $host //= '127.0.0.1';

    require IO::Socket::IP;
    require Time::HiRes;
    Time::HiRes::sleep($settle * ($ENV{TS_TEST_SLOWDOWN} || 1));

    local $SIG{ALRM} = sub { die "keepalive dialogue timed out\n" };
    alarm(30);
    eval {
        for my $try (1 .. 40) {
            my $s = IO::Socket::IP->new(PeerHost => $host,
                                        PeerPort => $port)
                or last;
            my ($held, $answered) = _keepalive_predict($s);
            last unless defined $held;
            if ($held eq $answered) { close $s; next; }
            push @lines, "held $held answered $answered";
            for (1 .. $more) {
                ($held, $answered) = _keepalive_predict($s);
                last unless defined $held;
                push @lines, "held $held answered $answered";
            }
            close $s;
            last;
        }
    };
    alarm(0);
    push @lines, "failed: $@" if $@;

    open my $out, '>', "$Test::Nginx::Util::HtmlDir/$file"
        or die "cannot write $file: $!";
    print $out map { "$_\n" } @lines;
    close $out;
}

sub _keepalive_predict {
    my ($s) = @_;
    print $s "POST /predictions/whoami HTTP/1.1\r\nHost: localhost\r\n"
             . "Content-Length: 1\r\n\r\n0";
    local $/ = "\r\n";
    my $status = <$s>;
    return unless defined $status && $status =~ m{\AHTTP/1\.1 200 };
    my ($length, $held) = (0, '');
    while (defined(my $line = <$s>)) {
        last if $line eq "\r\n";
        $length = $1 if $line =~ /\AContent-Length:\s*(\d+)/i;
        $held = $1 if $line =~ /\AX-Nginx-Pid:\s*(\d+)/i;
    }
    my $body = '';
    while (length($body) < $length) {
        my $n = read($s, $body, $length - length($body), length($body));
        return unless $n;
    }
    my ($answered) = $body =~ /\Apid (\d+)/ or return;
    return ($held, $answered);
}

# What a stranger of the same user could send to each worker process's
# socket for moved connections (torchserve-handoff-<pid>/m.sock in /tmp):
# a datagram without a socket, and a well-formed one carrying a pipe.
# Debian's python3 passes descriptors (sendmsg); Perl's core cannot.
sub stray_connections {
    my $master = _read_pid($Test::Nginx::Util::PidFile);
    my $script = <<'_PY_';
import glob, os, socket, struct, sys
master = sys.argv[1]
for path in glob.glob("/tmp/torchserve-handoff-*/m.sock"):
    pid = path.split("/")[2].rsplit("-", 1)[1]
    try:
        with open("/proc/%s/status" % pid) as f:
            if "PPid:\t%s\n" % master not in f.read():
                continue
    except OSError:
        continue
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"hello", path)
    r, w = os.pipe()
    s.sendmsg([struct.pack("=IIi", 0x7473766d, 0, 1)],
              [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", r))],
              0, path)
    os.close(r)
    os.close(w)
    s.close()
_PY_
    system('/usr/bin/python3', '-c', $script, $master) == 0
        or die "stray_connections: python3 failed\n";
}

sub _read_pid {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    my $pid = <$fh> // '';
    close $fh;
    chomp $pid;
    return $pid;
}

1;
