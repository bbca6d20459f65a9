# The torchserve command (#14): TorchServe's own start/stop lines, run
# unchanged in temporary directories on free ports (config.properties in
# the current directory gives the ports, as TorchServe reads it), with
# archives made by archive_tool, against the answers the fixture scripts
# computed in Python.  Plain Test::More: this drives a command.
use strict;
use warnings;

use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Test::More;

use lib "$FindBin::Bin/..";
use TorchServeTest;

my $top = "$FindBin::Bin/../..";
my $cmd = $ENV{TORCHSERVE_BINARY} || "$top/build/torchserve";
my $tool = "$top/build/archive_tool";
$ENV{TORCHSERVE_MODULE} = $ENV{TEST_NGINX_LOAD_MODULES}
    if $ENV{TEST_NGINX_LOAD_MODULES};
$ENV{TEST_NGINX_FIXTURES} ||= "$top/build/fixtures";
my $fixtures = $ENV{TEST_NGINX_FIXTURES};

plan skip_all => "$cmd not built (make all)" unless -x $cmd;

my $http = HTTP::Tiny->new(timeout => 30);

# a fresh current directory with a config.properties on free ports
sub workdir {
    my (%extra) = @_;
    my $dir = tempdir(CLEANUP => 1);
    my %port = map { $_ => free_port() } qw(inference management metrics);
    open my $fh, '>', "$dir/config.properties" or die $!;
    print $fh "# written by t/nginx-t/torchserve-cmd.t\n";
    print $fh "${_}_address=http://127.0.0.1:$port{$_}\n"
        for qw(inference management metrics);
    print $fh "$_=$extra{$_}\n" for sort keys %extra;
    close $fh;
    make_path("$dir/model_store");
    return ($dir, \%port);
}

# runs the command line in dir: (exit code, stdout + stderr)
sub run_in {
    my ($dir, $line) = @_;
    my $out = `cd '$dir' && $cmd $line 2>&1`;
    return ($? >> 8, $out);
}

sub url { my ($port, $path) = @_; return "http://127.0.0.1:$port$path" }

sub archive {
    my ($dir, @args) = @_;
    my $out = `'$tool' @args --export-path '$dir/model_store' -f 2>&1`;
    die "archive_tool @args: $out" if $?;
}


# --- torchserve --start --ncs --model-store model_store --models densenet161.mar
{
    my ($dir, $port) = workdir();
    archive($dir, "--model-name densenet161 --version 1.0",
            "--serialized-file $fixtures/vision_src/cls.pt",
            "--extra-files $fixtures/vision_src/index_to_name.json",
            "--handler image_classifier");

    my ($rc, $out) = run_in($dir, "--start --ncs --model-store model_store "
                                  . "--models densenet161.mar");
    is($rc, 0, "densenet161: --start exits 0") or diag($out);
    like($out, qr/started: inference http:\/\/127\.0\.0\.1:$port->{inference}/,
         "densenet161: it says where it listens");
    like($out, qr/; models: densenet161 1\.0; logs in /,
         "densenet161: ... and which models it loaded");

    my $r = $http->get(url($port->{inference}, "/ping"));
    is($r->{status}, 200, "densenet161: /ping 200");
    like($r->{content}, qr/"status": "Healthy"/, "densenet161: Healthy");

    $r = $http->put(url($port->{inference}, "/predictions/densenet161"),
                    { content => fixture("vision/kitten.jpg"),
                      headers => { 'Content-Type' => 'image/jpeg' } });
    is($r->{status}, 200, "densenet161: curl -T kitten.jpg: 200");
    is($r->{content}, vision_expected("cls", "kitten.jpg"),
       "densenet161: TorchServe's top 5 for kitten.jpg");

    $r = $http->get(url($port->{management}, "/models"));
    like($r->{content}, qr/"modelName": "densenet161"/,
         "densenet161: in the model list");

    ($rc, $out) = run_in($dir, "--start --ncs --model-store model_store");
    is($rc, 1, "a second --start while one runs fails");
    is($out, "TorchServe is already running, please use torchserve --stop "
             . "to stop TorchServe.\n", "... and says so, as TorchServe");

    ok(-s "$dir/logs/ts_log.log", "logs/ts_log.log is the error log");
    ok(-e "$dir/logs/access_log.log", "logs/access_log.log the access log");

    ($rc, $out) = run_in($dir, "--stop");
    is($out, "TorchServe has stopped.\n", "--stop stops it");
    ok(!$http->get(url($port->{inference}, "/ping"))->{success},
       "nothing listens after --stop");

    ($rc, $out) = run_in($dir, "--stop");
    is($out, "TorchServe is not currently running.\n",
       "--stop with nothing running: TorchServe's message");
}


# --- torchserve --start --model-store model_store --models my_tc=BERTNER.mar --ncs
{
    my ($dir, $port) = workdir();
    copy("$fixtures/ner.mar", "$dir/model_store/BERTNER.mar") or die $!;

    my ($rc, $out) = run_in($dir, "--start --model-store model_store "
                                  . "--models my_tc=BERTNER.mar --ncs");
    is($rc, 0, "my_tc=BERTNER.mar: --start exits 0") or diag($out);

    my $r = $http->post(url($port->{inference}, "/predictions/my_tc"),
                        { content => fixture("ner_sentence.txt"),
                          headers => { 'Content-Type' => 'text/plain' } });
    is($r->{status}, 200, "my_tc: a Python handler answers 200");
    is($r->{content}, python_expected("ner", "body"),
       "my_tc: the NER handler's answer, as Python computes it");

    $r = $http->get(url($port->{management}, "/models"));
    like($r->{content}, qr/"modelName": "my_tc"/, "my_tc: named as given");

    run_in($dir, "--stop");
}


# --- torchserve --start --model-store /tmp/models/ --no-config-snapshots,
# then the same without it: the registration survives a restart only then
{
    my ($dir, $port) = workdir(enable_model_api => "true");
    copy("$fixtures/digits.mar", "$dir/model_store/digits.mar") or die $!;
    my $store = "$dir/model_store/";
    my $input = fixture("digits_input.json");

    for my $ncs (1, 0) {
        my $flag = $ncs ? " --no-config-snapshots" : "";
        my ($rc, $out) = run_in($dir, "--start --model-store $store$flag");
        is($rc, 0, "no models$flag: --start exits 0") or diag($out);

        my $r = $http->get(url($port->{management}, "/models"));
        is($r->{content}, "{\n  \"models\": []\n}\n",
           "no models$flag: the list is empty");

        $r = $http->post(url($port->{management},
                             "/models?url=digits.mar&initial_workers=1"
                             . "&synchronous=true"));
        is($r->{status}, 200, "no models$flag: registered through the API")
            or diag($r->{content});

        $r = $http->post(url($port->{inference}, "/predictions/digits"),
                         { content => $input });
        like($r->{content}, qr/^\[\n  0\.99968/,
             "no models$flag: the registered model answers");

        run_in($dir, "--stop");
        ($rc, $out) = run_in($dir, "--start --model-store $store$flag");
        is($rc, 0, "restarted$flag") or diag($out);

        $r = $http->get(url($port->{management}, "/models"));
        if ($ncs) {
            is($r->{content}, "{\n  \"models\": []\n}\n",
               "--ncs: the registration is gone after a restart");
        } else {
            like($r->{content}, qr/"modelName": "digits"/,
                 "without --ncs: the registration survives a restart");
            $r = $http->post(url($port->{inference}, "/predictions/digits"),
                             { content => $input });
            like($r->{content}, qr/^\[\n  0\.99968/,
                 "without --ncs: ... and answers");
        }

        run_in($dir, "--stop");
        unlink "$dir/logs/config/registry.json" if $ncs;
    }
}


# --- config.properties: keys take effect; unknown keys warn; bad values fail
{
    my ($dir, $port) = workdir(max_request_size => 100,
                               number_of_netty_threads => 1,
                               default_workers_per_model => 3,
                               job_queue_size => 7,
                               default_response_timeout => 33,
                               enable_metrics_api => "false",
                               load_models => "digits.mar",
                               model_store => "model_store",
                               some_key_we_do_not_know => 1);
    copy("$fixtures/digits.mar", "$dir/model_store/digits.mar") or die $!;

    my ($rc, $out) = run_in($dir, "--start");
    is($rc, 0, "config.properties alone: --start exits 0") or diag($out);
    like($out, qr/warning: config\.properties line \d+: unknown key "some_key_we_do_not_know"/,
         "an unknown key is a warning naming it and its line");

    my $conf = fixture_text("$dir/logs/nginx.conf");
    like($conf, qr/^worker_processes 1;$/m, "number_of_netty_threads: 1 process");
    like($conf, qr/^thread_pool torchserve threads=3 /m,
         "default_workers_per_model 3: 3 threads");

    my $r = $http->get(url($port->{management}, "/models/digits"));
    like($r->{content}, qr/"minWorkers": 3,/,
         "default_workers_per_model 3: describe shows 3 workers");
    like($r->{content}, qr/"jobQueueStatus": \{\n *"remainingCapacity": 7,/,
         "job_queue_size 7");
    like($r->{content}, qr/"responseTimeout": 33,/,
         "default_response_timeout 33");
    ok(!$http->get(url($port->{metrics}, "/metrics"))->{success},
       "enable_metrics_api false: no metrics listener");

    $r = $http->post(url($port->{inference}, "/predictions/digits"),
                     { content => fixture("digits_input.json") });
    is($r->{status}, 413, "max_request_size 100: a bigger body gets 413");

    run_in($dir, "--stop");

    open my $fh, '>>', "$dir/config.properties" or die $!;
    print $fh "job_queue_size = lots\n";
    close $fh;
    ($rc, $out) = run_in($dir, "--start");
    is($rc, 1, "a bad value: --start fails");
    like($out, qr/config\.properties: line 14: invalid job_queue_size "lots": a whole number/,
         "... naming the key, the file and the line");
    ok(!-e "$dir/logs/nginx.pid", "... and starts nothing");
}


# --- the models JSON, TS_* variables, https:// and unix: addresses
{
    my $sock = tempdir(CLEANUP => 1) . "/inference.sock";
    my ($dir, $port) = workdir(
        models => '{"digits": {"1.0": {"minWorkers": 2, "batchSize": 4, '
                  . '"maxBatchDelay": 50, "responseTimeout": 30}}}',
        load_models => "digits.mar",
        enable_envvars_config => "true",
        number_of_netty_threads => 1,
        job_queue_size => 100);
    copy("$fixtures/digits.mar", "$dir/model_store/digits.mar") or die $!;

    # the metrics listener on TLS, the inference one on a unix socket
    my $cert = "$dir/cert.pem";
    my $key = "$dir/key.pem";
    system("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
           . "-days 1 -keyout '$key' -out '$cert' >/dev/null 2>&1") == 0
        or die "openssl failed";
    open my $fh, '>>', "$dir/config.properties" or die $!;
    print $fh "metrics_address=https://127.0.0.1:$port->{metrics}\n"
              . "certificate_file=$cert\nprivate_key_file=$key\n"
              . "inference_address=unix:$sock\n";
    close $fh;

    local $ENV{TS_JOB_QUEUE_SIZE} = 9;
    my ($rc, $out) = run_in($dir, "--start --model-store model_store");
    is($rc, 0, "models JSON, TS_*, https, unix: --start exits 0")
        or diag($out);
    like($out, qr/inference unix:\Q$sock\E, .*metrics https:\/\/127\.0\.0\.1:$port->{metrics}/,
         "it says where it listens");

    my $r = $http->get(url($port->{management}, "/models/digits"));
    like($r->{content}, qr/"minWorkers": 2,.*"batchSize": 4,\n *"maxBatchDelay": 50,/s,
         "models JSON: minWorkers, batchSize, maxBatchDelay");
    like($r->{content}, qr/"responseTimeout": 30,/, "models JSON: responseTimeout");
    like($r->{content}, qr/"remainingCapacity": 9,/,
         "enable_envvars_config: TS_JOB_QUEUE_SIZE wins over the file");

    my $body = fixture("digits_input.json");
    my $c = IO::Socket::UNIX->new(Peer => $sock, Type => SOCK_STREAM)
        or die "$sock: $!";
    print $c "POST /predictions/digits HTTP/1.0\r\nHost: localhost\r\n"
             . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $answer = do { local $/; <$c> };
    like($answer, qr/^HTTP\/1\.1 200 .*\r\n\r\n\[\n  0\.99968/s,
         "unix:/path: a prediction on the socket");

    my $metrics = `curl -sk https://127.0.0.1:$port->{metrics}/metrics`;
    like($metrics, qr/^ts_inference_requests_total\{model_name="digits"/m,
         "https://: the metrics over TLS");

    run_in($dir, "--stop");

    local $ENV{TS_JOB_QUEUE_SIZE} = "many";
    ($rc, $out) = run_in($dir, "--start --model-store model_store");
    like($out, qr/environment variable TS_JOB_QUEUE_SIZE: invalid job_queue_size "many"/,
         "a bad TS_* value names the variable");
}


# --- the model API: 405 as TorchServe 0.12's default, open with --enable-model-api
{
    my ($dir, $port) = workdir();
    copy("$fixtures/digits.mar", "$dir/model_store/digits.mar") or die $!;

    for my $flag ("", " --enable-model-api") {
        my ($rc, $out) = run_in($dir, "--start --ncs --model-store model_store$flag");
        is($rc, 0, "model API$flag: --start exits 0") or diag($out);
        my $r = $http->post(url($port->{management}, "/models?url=digits.mar"));
        is($r->{status}, $flag ? 200 : 405,
           $flag ? "--enable-model-api: registration works"
                 : "without --enable-model-api: registration is 405");
        run_in($dir, "--stop");
    }
}


# --- a model by URL at start, under allowed_urls
{
    # Java's properties syntax: \\ is one backslash of the regex
    my ($dir, $port) = workdir(allowed_urls => 'http://127\\\\.0\\\\.0\\\\.1:\\\\d+/ok/.*');
    my $web = tempdir(CLEANUP => 1);
    make_path("$web/ok", "$web/no");
    copy("$fixtures/digits.mar", "$web/ok/digits.mar") or die $!;
    copy("$fixtures/digits.mar", "$web/no/digits.mar") or die $!;
    my $wport = free_port();
    my $pid = fork();
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec '/usr/bin/python3', '-m', 'http.server', $wport, '--bind',
             '127.0.0.1', '--directory', $web;
        exit 127;
    }
    for (1 .. 50) {
        last if $http->get("http://127.0.0.1:$wport/")->{success};
        select(undef, undef, undef, 0.1);
    }

    my ($rc, $out) = run_in($dir, "--start --ncs --model-store model_store "
                                  . "--models far=http://127.0.0.1:$wport/ok/digits.mar");
    is($rc, 0, "a model by URL: --start exits 0") or diag($out);
    my $r = $http->post(url($port->{inference}, "/predictions/far"),
                        { content => fixture("digits_input.json") });
    like($r->{content}, qr/^\[\n  0\.99968/, "a model by URL: downloaded and served");
    ok(-f "$dir/logs/models/digits.mar", "... into logs/models/");
    run_in($dir, "--stop");

    ($rc, $out) = run_in($dir, "--start --ncs --model-store model_store "
                               . "--models http://127.0.0.1:$wport/no/digits.mar");
    is($rc, 1, "a URL outside allowed_urls: --start fails");
    like($out, qr/the URL is not among allowed_urls/, "... and says why");

    kill 'TERM', $pid;
    waitpid($pid, 0);
}


# --- --foreground stays attached until nginx stops; the accepted options
{
    my ($dir, $port) = workdir();
    copy("$fixtures/digits.mar", "$dir/model_store/digits.mar") or die $!;
    open my $lc, '>', "$dir/log4j2.xml" or die $!;
    close $lc;
    make_path("$dir/wf");

    my $pid = fork();
    if ($pid == 0) {
        chdir $dir or die $!;
        open STDOUT, '>', "$dir/fg.out";
        open STDERR, '>&', \*STDOUT;
        exec $cmd, '--start', '--foreground', '--ncs', '--model-store',
             'model_store', '--models', 'digits.mar', '--log-config',
             'log4j2.xml', '--workflow-store', 'wf';
        exit 127;
    }

    my $up = 0;
    for (1 .. 300) {
        $up = $http->get(url($port->{inference}, "/ping"))->{success} and last;
        select(undef, undef, undef, 0.1);
    }
    ok($up, "--foreground: it serves");
    for (1 .. 100) {
        last if -s "$dir/fg.out" && fixture_text("$dir/fg.out") =~ /started:/;
        select(undef, undef, undef, 0.1);
    }
    like(fixture_text("$dir/fg.out"), qr/started: inference http:/,
         "--foreground: it says where it listens");
    ok(kill(0, $pid), "--foreground: the command is still attached");

    # what Ctrl-C does to nginx (the same process group gets SIGINT)
    my $master = fixture_text("$dir/logs/nginx.pid") + 0;
    kill 'INT', $master;
    waitpid($pid, 0);
    my $fg = fixture_text("$dir/fg.out");
    like($fg, qr/TorchServe has stopped\.\n\z/, "--foreground: returns when nginx stops");
    like($fg, qr/--log-config log4j2\.xml: ignored/, "--log-config: accepted, with a line");
    like($fg, qr/--workflow-store wf: accepted; workflows are not served/,
         "--workflow-store: accepted, with a line");
}


# --- -v, --help, a missing store
{
    my ($dir) = workdir();
    my ($rc, $out) = run_in($dir, "-v");
    like($out, qr/^TorchServe Version is \d+\.\d+\.\d+$/, "-v: TorchServe's line");
    ($rc, $out) = run_in($dir, "--help");
    like($out, qr/^usage: torchserve .*--start.*--stop/s, "--help: usage");
    ($rc, $out) = run_in($dir, "--start --model-store nowhere");
    is($out, "--model-store directory not found: nowhere\n",
       "a missing --model-store: TorchServe's message");
    ($rc, $out) = run_in($dir, "--start --nonsense");
    is($rc, 2, "an unknown option exits 2, as argparse");
}

done_testing();


sub fixture_text {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return <$fh>;
}
