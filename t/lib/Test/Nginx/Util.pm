package Test::Nginx::Util;

# The nginx side of our Test::Nginx runner: settings, the server root,
# nginx.conf, starting / reloading / stopping nginx and reading its logs.
# Test::Nginx::Socket (the HTTP client and the checks) sits on top of it.
#
# This is our own code, written to behave like openresty's test-nginx
# (lib/Test/Nginx/Util.pm) so that t/*.t files run unchanged under either.
# Where the real one has a rule that matters to a test (what gets restarted,
# which part of error.log a block sees, when a run bails out), the comment
# says so.

use strict;
use warnings;

use base 'Exporter';

use Carp ();
use File::Find ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(SIGQUIT SIGKILL SIGTERM WNOHANG);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Time::HiRes qw(sleep);

sub bail_out (@);
sub expand_env_in_text ($$$);
sub is_running ($);
sub kill_process ($$$);
sub timeout (@);

# --- settings: environment first, then the functions a .t file calls --------

our $Verbose        = $ENV{TEST_NGINX_VERBOSE};
our $NginxBinary    = $ENV{TEST_NGINX_BINARY} || find_nginx();
our $LoadModules    = $ENV{TEST_NGINX_LOAD_MODULES};
our $UseHup         = $ENV{TEST_NGINX_USE_HUP};
our $NoShuffle      = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoNginxManager = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $Timeout        = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $LogLevel       = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled  = 'on';
our $Workers        = 1;
our $WorkerConnections = 64;
our $ServerAddr     = '127.0.0.1';
our $ServerName     = 'localhost';
our $ServerPort     = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                      || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $RepeatEach     = 1;
our $NoRootLocation = 0;
our $NoLongString;
our $ConfigPreamble = '';
our $FilterHttpConfig;
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;
our @TestCleanupHandlers;

# Socket.pm plugs its request runner and error-log checker in here.
our ($RunTestHelper, $CheckErrorLog);

our $ServRoot = $ENV{TEST_NGINX_SERVROOT}
                || File::Spec->rel2abs('t/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $PidFile    = "$LogDir/nginx.pid";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $CacheDir   = "$ServRoot/cache";

# --- state ------------------------------------------------------------------

our ($NginxVersion, $NginxRawVersion, $PrevConfig, $ConfigVersion, $RandPorts);
our $ErrLogFilePos = 0;
our $FirstTime = 1;
our $InSubprocess;
our $RanTests;    # END leaves nginx alone in a file that never ran a block

# A run killed by ^C or by a closed pipe (prove ... | head) would skip END
# and leave a daemonized nginx holding the port.  Signals become a normal
# exit; a closed pipe is ignored, so the run ends (unseen) and END runs.
for my $sig (qw(INT TERM HUP PIPE)) {
    next if defined $SIG{$sig} && $SIG{$sig} ne 'DEFAULT';
    $SIG{$sig} = $sig eq 'PIPE' ? 'IGNORE' : sub { exit 1 };
}

our @EXPORT = qw(
    expand_env_in_text env_to_nginx check_accum_error_log is_running
    read_pid_file
    $NoLongString no_long_string $ServerAddr server_addr $ServerName
    server_name parse_time verbose sleep_time bail_out add_cleanup_handler
    add_test_cleanup_handler access_log_data error_log_data
    setup_server_root write_config_file get_canon_version get_nginx_version
    trim show_all_chars parse_headers run_tests run_test
    get_pid_from_pidfile $ServerPortForClient $ServerPort $NginxVersion
    $PidFile $ServRoot $ConfFile $RunTestHelper $CheckErrorLog
    $FilterHttpConfig $NoNginxManager $RepeatEach add_block_preprocessor
    timeout worker_connections workers master_on master_off config_preamble
    repeat_each master_process_enabled log_level no_shuffle no_root_location
    html_dir server_root server_port server_port_for_client no_nginx_manager
    use_hup is_tcp_port_used
);

sub find_nginx {
    for my $dir (split /:/, $ENV{PATH} || '') {
        return "$dir/nginx" if $dir ne '' && -f "$dir/nginx" && -x _;
    }
    return '/usr/sbin/nginx';
}

# A getter when called without arguments, a setter otherwise.
sub repeat_each (@)        { $RepeatEach = shift if @_; $RepeatEach }
sub workers (@)            { @_ ? ($Workers = shift) : $Workers }
sub worker_connections (@) {
    @_ ? ($WorkerConnections = shift) : $WorkerConnections;
}
sub log_level (@)          { @_ ? ($LogLevel = shift) : $LogLevel }
sub server_name (@)        { @_ ? ($ServerName = shift) : $ServerName }
sub server_addr (@)        { @_ ? ($ServerAddr = shift) : $ServerAddr }
sub server_port (@)        { @_ ? ($ServerPort = shift) : $ServerPort }
sub server_port_for_client (@) {
    @_ ? ($ServerPortForClient = shift) : $ServerPortForClient;
}
sub timeout (@)            { @_ ? ($Timeout = shift) : $Timeout }
sub master_on ()           { $MasterProcessEnabled = 'on' }
sub master_off ()          { $MasterProcessEnabled = 'off' }
sub master_process_enabled (@) {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}
sub no_shuffle ()          { $NoShuffle = 1 }
sub no_root_location ()    { $NoRootLocation = 1 }
sub no_long_string ()      { $NoLongString = 1 }
sub no_nginx_manager ()    { $NoNginxManager = 1 }
sub use_hup ()             { $UseHup = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub config_preamble ($)    { $ConfigPreamble = shift }
sub html_dir ()            { $HtmlDir }
sub server_root ()         { $ServRoot }
sub sleep_time             { $TestNginxSleep }
sub verbose                { $Verbose }

# Preprocessors added last run first, as in the real one.
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)      { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

sub env_to_nginx (@) {
    Carp::croak("env_to_nginx: no arguments specified") unless @_;
    for my $v (@_) {
        Carp::croak("env_to_nginx: bad argument value: $v\n")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# "50ms", "1.5s" or "2" (seconds).
sub parse_time ($) {
    my $tm = shift;
    return $tm unless defined $tm;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        return $tm / 1000;
    }
    $tm =~ s/([^_a-zA-Z])s$/$1/;
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    return $s;
}

# "Name: value" lines to { Name => value }; "!Name" means "must be absent"
# and maps to undef.  Pairs come back in file order (the real one returns a
# hash, so the order of its subtests varies; the count does not).
sub parse_headers ($) {
    my $s = shift;
    my (%seen, @pairs);
    for my $line (split /\n/, $s) {
        $line =~ s/^\s+|\s+$//g;
        my ($key, $val);
        if ($line =~ s/^!\s*//) {
            $key = $line;
        } else {
            ($key, $val) = split /\s*:\s*/, $line, 2;
        }
        # a repeated name keeps its last value, like a hash would
        if (exists $seen{$key}) {
            $pairs[$seen{$key}][1] = $val;
            next;
        }
        $seen{$key} = @pairs;
        push @pairs, [$key, $val];
    }
    return \@pairs;
}

sub get_canon_version (@) {
    sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        bail_out("Failed to get the version of nginx ($NginxBinary): "
                 . ($out // ''));
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s) {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

# --- $TEST_NGINX_* expansion ------------------------------------------------

# The real one expands these in config, http_config, main_config,
# post_main_config, error_log_file, user_files, pipelined_requests,
# grep_error_log_out and response_body -- not in a plain "request".
# An undefined variable bails out the whole file.
sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    $rand_ports ||= {};

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            $val = $rand_ports->{$var} //= gen_rand_port($rand_ports)
                // bail_out("$name - Cannot find an available listening "
                            . "port number for $var.\n");
        } else {
            bail_out("$name - No environment $var defined.\n")
                unless defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }eg;

    return $text;
}

# A free port above 1988, different from the test port and this block's
# other random ports.
sub gen_rand_port {
    my ($taken) = @_;
    my %used = ($ServerPort => 1,
                map { $_ => 1 } grep { defined } values %{ $taken || {} });
    for (1 .. 1000) {
        my $port = int(rand 63547) + 1988;
        next if $used{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port, Proto => 'tcp',
                                         Listen => 5, Reuse => 1);
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

sub is_tcp_port_used ($) {
    my $port = shift;
    open my $fh, '<', '/proc/net/tcp' or return 0;
    while (<$fh>) {
        return 1 if /^\s*\d+: [0-9A-F]+:([0-9A-F]+) / && hex($1) == $port;
    }
    return 0;
}

# --- logs -------------------------------------------------------------------

# The lines this block has not seen yet.  Each call remembers where it
# stopped, so with repeat_each or several requests every check sees only
# what happened since the previous check.  The sleep gives nginx time to
# write log-phase lines, which come after the response.
sub error_log_data () {
    sleep $TestNginxSleep * 3;

    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

# The access log is always read whole, as in the real one.
sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or die "open $AccLogFile failed: $!";
    my @lines = <$in>;
    close $in;
    return \@lines;
}

# --- the server root --------------------------------------------------------

# Wipe and recreate servroot/{conf,html,logs}.  Like the real one we only
# remove what we create and then rmdir, so a mistaken TEST_NGINX_SERVROOT
# cannot destroy anything else.  In HUP mode nginx keeps running, so its
# pid file survives (except on the first block of a file).
sub setup_server_root ($) {
    my $first_time = shift;

    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"),
                    glob("$ServRoot/*_temp"));

        if ($UseHup) {
            File::Find::find({ bydepth => 1, no_chdir => 1, wanted => sub {
                return if -d $_;
                return if !$first_time
                          && /(?:\bnginx\.pid|\.sock|\.crt|\.key)$/;
                unlink $_ or warn "Failed to remove $_: $!\n";
            }}, $ServRoot);

        } else {
            remove_tree($CacheDir, $HtmlDir, $LogDir);
            rmdir $ServRoot
                or bail_out("Can't remove $ServRoot (not empty?): $!");
        }
    }

    for my $dir ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $dir;
        mkdir $dir or bail_out("Failed to do mkdir $dir: $!\n");
    }

    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't open $HtmlDir/index.html for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub run_customer_init_script ($) {
    my $block = shift;
    my $code = $block->post_setup_server_root;
    return unless $code;
    eval $code;
    bail_out($block->name . " - post_setup_server_root failed: $@") if $@;
}

# "--- user_files" is either text:
#     >>> name [touch -t timestamp]
#     content...
# or, with eval, [[name, content, timestamp], ...].  Relative names go
# under html/.
sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            # not anchored, as in the real one: ">>> " anywhere in a line
            # starts a new file
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }

        $body = expand_env_in_text($body // '', $name, $rand_ports);

        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;

        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("$name - Failed to set the time of $path\n");
        }
    }
}

# --- nginx.conf -------------------------------------------------------------

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    # config reload is unreliable without a master process
    master_on() if $UseHup;

    my $http_config = expand_env_in_text($block->http_config, $name,
                                         $rand_ports) // '';
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;

    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        my @lines = map { "load_module $_;" } grep { $_ } split /\s+/,
                    $LoadModules;
        $main_config = join ' ', @lines, $main_config;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    my $post_main_config = expand_env_in_text($block->post_main_config,
                                              $name, $rand_ports) // '';
    my $err_log_file = expand_env_in_text($block->error_log_file
                                          || $ErrLogFile, $name, $rand_ports);
    my $server_name = $block->server_name // $ServerName;
    $config //= '';

    # Debian's nginx has compiled-in temp paths under /var/lib/nginx; keep
    # ours inside servroot unless the test configures them itself.
    my $nginx_V = `$NginxBinary -V 2>&1`;
    my $temp_paths = '';
    for my $t (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $nginx_V =~ /--without-http_${t}_module/;
        # the real one only leaves out the two that http_config sets
        next if ($t eq 'client_body' || $t eq 'proxy')
                && $http_config =~ /\b${t}_temp_path\b/;
        $temp_paths .= " ${t}_temp_path $ServRoot/${t}_temp;";
    }

    my $env = join '', map { my $v = /\s/ ? "'$_'" : $_; "env $v;\n" }
              'LD_PRELOAD', 'LD_LIBRARY_PATH', 'ASAN_OPTIONS', @EnvToNginx;

    my $root_location = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    # In HUP mode a second server answers /ver with this block's config
    # version, so we can tell when the reload has taken effect.
    my $version_server = !$UseHup ? '' : <<_EOC_;
    server {
        listen          $ServerPort;
        server_name     'Test-Nginx';

        location = /ver {
            return 200 '$ConfigVersion';
        }
    }
_EOC_

    (my $quoted_server_name = $server_name) =~ s/([\\'])/\\$1/g;
    my $user = $> == 0 ? "user root;\n" : '';

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out <<_EOC_;
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile;$temp_paths

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$quoted_server_name';
        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
$version_server}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
$user
_EOC_
    close $out;
}

# --- processes --------------------------------------------------------------

sub get_pid_from_pidfile ($) {
    my $name = shift;
    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for "
                    . "reading: $!");
    my $pid = do { local $/; <$in> };
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

# The pid in nginx.pid, or undef; nginx may remove the file at any time.
sub read_pid_file () {
    open my $in, '<', $PidFile or return undef;
    my $pid = <$in>;
    close $in;
    return defined $pid && $pid =~ /^(\d+)/ ? $1 : undef;
}

# A daemonized nginx is re-parented to PID 1, which in a container may never
# reap it; a zombie is as dead as it gets.
sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    if (open my $st, '<', "/proc/$pid/stat") {
        my $line = <$st> // '';
        return 0 if $line =~ /^\d+ \(.*\) [ZX]/s;
    }
    return 1;
}

# QUIT (graceful), wait up to timeout() seconds, then KILL.
sub kill_process ($$$) {
    my ($pid, $wait, $name) = @_;
    return unless $pid;

    my $sig = $ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT;
    kill $sig, $pid if $wait;

    my $left = $wait ? timeout() : 0.3;
    while ($left > 0 && is_running($pid)) {
        waitpid $pid, WNOHANG;
        sleep 0.05;
        $left -= 0.05;
    }
    return unless is_running($pid);

    warn "$name - WARNING: killing the process $pid with force...\n";
    # the master's process group takes its workers with it
    kill SIGKILL, (getpgrp($pid) == $pid ? -$pid : $pid);
    for (1 .. 40) {
        waitpid $pid, WNOHANG;
        last unless is_running($pid);
        sleep 0.05;
    }
}

sub running_nginx_pid () {
    my $pid = read_pid_file();
    return $pid if $pid && is_running($pid);
    unlink $PidFile if -f $PidFile;
    return undef;
}

sub nginx_command ($) {
    my $block = shift;
    # -e (nginx >= 1.19.5) sends the errors nginx meets before it has read
    # error_log to our error.log rather than to a compiled-in path.
    my $e = $NginxVersion >= 1.019005 ? "-e $ErrLogFile " : '';
    my $cmd = "$NginxBinary $e-p $ServRoot/ -c $ConfFile > /dev/null";
    $cmd .= ' 2> /dev/null' if defined $block->suppress_stderr;
    return $cmd;
}

# The block's nginx must fail to start: one subtest for that, then the
# error-log checks, once per repeat_each.  No request is sent.
sub run_must_die ($$) {
    my ($block, $must_die) = @_;
    my $name = $block->name;
    my $cmd = nginx_command($block);

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        system $cmd;
        my $status = $?;

        if ($status == -1) {
            Test::More::fail("$name - failed to execute the nginx "
                             . "command line");
        } elsif ($status & 128) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($status >> 8, $must_die,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        $CheckErrorLog->($block, undef, 0, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it (req $i)\n";
            for (1 .. 15) {
                last if -f $PidFile;
                sleep $TestNginxSleep;
            }
            kill_process(running_nginx_pid(), 1, $name);
        }
    }
}

# Start nginx from scratch.  A failure to bind (the previous nginx may
# still be releasing the port) is retried for up to 30 s like the real
# one; any other failure bails out at once (the real one retries those too,
# then bails out all the same).
sub start_nginx ($) {
    my $block = shift;
    my $name = $block->name;
    my $cmd = nginx_command($block);
    my $waited = 0;

    for (my $i = 1; ; $i++) {
        warn "starting nginx: $cmd\n" if $Verbose;
        system $cmd;
        my $status = $?;
        last if $status == 0;

        # nginx's last complaint says why
        my @errs;
        if (open my $in, '<', $ErrLogFile) {
            @errs = grep { /\[(?:emerg|alert|crit)\]/ } <$in>;
        }
        my $log = join '', @errs[($#errs > 4 ? $#errs - 4 : 0) .. $#errs];
        if (@errs && $errs[-1] =~ /Address already in use/ && $waited < 30) {
            my $delay = 0.1 * $i > 1 ? 1 : 0.1 * $i;
            sleep $delay;
            $waited += $delay;
            next;
        }
        bail_out("$name - Cannot start nginx using command \"$cmd\" "
                 . "(status code $status).\n$log");
    }

    sleep $TestNginxSleep;
}

# HUP mode: rewrite the server root and nginx.conf under the running
# master, reopen the logs (USR1: the old error.log was just deleted, so
# this block gets a fresh one), reload (HUP), then poll /ver until the new
# configuration answers.  Returns false if nginx could not be signalled.
sub reload_nginx ($$$$$) {
    my ($block, $config, $rand_ports, $pid, $first_time) = @_;
    my $name = $block->name;

    setup_server_root($first_time);
    run_customer_init_script($block);
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);

    warn "sending USR1 and HUP to $pid\n" if $Verbose;
    kill('USR1', $pid) or return 0;
    sleep $TestNginxSleep;
    kill('HUP', $pid) or return 0;
    sleep $TestNginxSleep * 3;

    # The old workers may answer for a while: wait for 20 answers in a row
    # from the new configuration.
    my $nsucc = 0;
    for my $try (1 .. 200) {
        my $ver = http_get_body('Test-Nginx', '/ver');
        if (defined $ver && $ver eq $ConfigVersion) {
            return 1 if ++$nsucc >= 20;
            sleep $TestNginxSleep if $nsucc == 5;
            next;
        }
        $nsucc = 0;
        my $wait = ($TestNginxSleep + $TestNginxSleep * $try) * $try / 2;
        $wait = 1 if $wait > 1;
        warn "$name - waiting $wait sec for nginx to reload the "
             . "configuration\n" if $wait > 0.5;
        sleep $wait;
    }

    Test::More->builder->no_ending(1);
    Test::More::fail("$name - failed to reload configuration after 200 "
                     . "failed test requests");
    return 1;
}

# A minimal GET used only to poll the HUP version server.
sub http_get_body ($$) {
    my ($host, $uri) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                     PeerPort => $ServerPortForClient,
                                     Proto => 'tcp', Timeout => 2)
        or return undef;
    print $sock "GET $uri HTTP/1.0\r\nHost: $host\r\n\r\n";
    my $sel = IO::Select->new($sock);
    my $resp = '';
    while ($sel->can_read(2)) {
        my $n = sysread $sock, my $buf, 4096;
        last unless $n;
        $resp .= $buf;
    }
    close $sock;
    return $resp =~ m{\AHTTP/\S+ 200 .*?\r\n\r\n(.*)\z}s ? $1 : undef;
}

sub gen_rand_str ($) {
    my $len = shift;
    my @chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');
    return join '', map { $chars[int rand @chars] } 1 .. $len;
}

# "N: perl code" in skip_eval, "N: op x.y.z[: reason]" in skip_nginx.
# Returns (number of subtests to skip, reason) when the block is skipped.
sub skip_spec ($) {
    my $block = shift;
    my $name = $block->name;
    my @skip;

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            my ($n, $code) = ($1, $2);
            my $yes = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code "
                     . "\"$code\": $@") if $@;
            @skip = ($n, 'skip_eval') if $yes;
        }
    }

    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                  (?:\s*:\s*(.*))?\s*$/x
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($n, $op, $reason) = ($1, $2, $6);
        my $ver = get_canon_version($3, $4, $5);
        @skip = ($n, $reason || "nginx version $op $3.$4.$5")
            if eval "$NginxVersion $op $ver";
    }

    return @skip;
}

# --- the driver -------------------------------------------------------------

sub run_tests () {
    $RanTests = 1;
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        $_->($block) for @TestCleanupHandlers;
    }

    cleanup();
}

# Sections of the real one this runner does not implement: say so once
# rather than silently ignoring them.
my %Unsupported = map { $_ => 1 } qw(
    tcp_listen tcp_reply tcp_query tcp_query_len udp_listen udp_reply
    udp_query stap stap_out stap_out_like stap_out_unlike curl http2 http3
    shutdown_error_log no_shutdown_error_log skip_nginx2 skip_openssl
    skip_slave todo todo_nginx reload_fails
);
my %Warned;

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;
    for my $sec (grep { $Unsupported{$_} && !$Warned{$_}++ }
                 @{ $block->{_section_order}[0] || [] })
    {
        warn "WARNING: $name - section \"--- $sec\" is not supported by "
             . "t/lib's Test::Nginx runner and is ignored\n";
    }
    my $first_time = $FirstTime;
    undef $FirstTime;

    my $rand_ports = $RandPorts = {};
    my $config = expand_env_in_text($block->config, $name, $rand_ports);
    my $must_die = $block->must_die;

    local $LogLevel = $block->log_level || $LogLevel;
    # a configuration that must fail is always started from scratch
    local $UseHup = defined $must_die ? undef : $UseHup;

    my ($nskip, $skip_reason) = skip_spec($block);

    # A block without "--- config" keeps the running nginx (and sees its
    # error.log from the start); there must have been one before.
    my $restart = !$NoNginxManager && defined $config;
    if (!$NoNginxManager && !defined $config && !defined $PrevConfig) {
        bail_out("$name - No '--- config' section specified and could not "
                 . "get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
    }

    if ($restart && !$nskip) {
        $PrevConfig = $config;
        $ConfigVersion = gen_rand_str(10) if $UseHup;

        my $pid = running_nginx_pid();
        my $reloaded = defined $pid && $UseHup && !$first_time
            && reload_nginx($block, $config, $rand_ports, $pid, $first_time);

        if (!$reloaded) {
            kill_process($pid, 1, $name) if defined $pid;

            setup_server_root($first_time);
            run_customer_init_script($block);
            write_user_files($block, $rand_ports);
            write_config_file($block, $config, $rand_ports);

            if (defined $must_die) {
                run_must_die($block, $must_die);
                return;
            }

            start_nginx($block);
        }
    }

    if ($block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (1 .. $RepeatEach) {
        write_user_files($block, $rand_ports) if $i > 1;

        if ($nskip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $nskip);
            }
            next;
        }

        $RunTestHelper->($block, 0, $i - 1);
    }
}

sub cleanup () {
    $_->() for @CleanupHandlers;
}

END {
    return if $InSubprocess;
    local $?;    # keep the exit status Test::Builder chose

    cleanup();

    # The real one stops the servroot's nginx even from a skip_all file,
    # which can hit a neighbour sharing t/servroot; we only stop our own.
    if ($RanTests && !$ENV{TEST_NGINX_NO_CLEAN}) {
        my $pid = running_nginx_pid();
        kill_process($pid, 1, 'END') if $pid;
    }
}

1;
