# make deb's package (#14), installed and removed on this machine as an
# operator would: dpkg -i, Debian's own /etc/nginx/nginx.conf loads the
# module through modules-enabled/, a conf.d/ snippet serves a model
# (nginx -t), the tools are on PATH, then dpkg -r leaves nothing behind.
# Runs only as root, with dpkg and Debian's nginx.conf, and never over a
# copy of the package someone installed.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use Test::More;

my $top = "$FindBin::Bin/../..";
my $pkg = 'libnginx-mod-http-torchserve';
my $fixtures = $ENV{TEST_NGINX_FIXTURES} || "$top/build/fixtures";
my $snippet = '/etc/nginx/conf.d/zz-torchserve-deb-test.conf';

plan skip_all => 'needs root' if $> != 0;
plan skip_all => 'make test-asan: the sanitized build is not one to package'
    if $ENV{TS_ASAN_LOG};
plan skip_all => 'needs dpkg and Debian\'s /etc/nginx/nginx.conf'
    unless -x '/usr/bin/dpkg' && -f '/etc/nginx/nginx.conf';
plan skip_all => "$pkg is installed on this machine: left alone"
    if `dpkg-query -W -f='\${Status}' $pkg 2>/dev/null` =~ /installed/;

my $out = tempdir(CLEANUP => 1);
my $deb = `'$top/packaging/make_deb.sh' '$out' 0.0.0~test 2>&1`;
chomp $deb;
is($?, 0, "make_deb.sh builds the package") or diag($deb);
like($deb, qr/\/${pkg}_0\.0\.0~test_[a-z0-9]+\.deb$/, "named as Debian names them");

my $info = `dpkg-deb -f '$deb' Depends`;
like($info, qr/\bnginx-abi-1\.22\.1-\d+\b/, "depends on the nginx ABI it was built for");
like($info, qr/\blibtorch1\.13\b/, "... and on libtorch");

# whatever happens below, the machine is left as it was
END {
    local $?;               # the test's exit code is not ours to change
    unlink $snippet;
    system("dpkg -r $pkg >/dev/null 2>&1")
        if `dpkg-query -W -f='\${Status}' $pkg 2>/dev/null` =~ /installed/;
}

my $log = `dpkg -i '$deb' 2>&1`;
is($?, 0, "dpkg -i installs it") or diag($log);

ok(-f '/usr/lib/nginx/modules/ngx_http_torchserve_module.so',
   "the module in /usr/lib/nginx/modules/");
ok(-f '/usr/share/nginx/modules-available/mod-http-torchserve.conf',
   "its load_module line in modules-available/");
is(readlink('/etc/nginx/modules-enabled/50-mod-http-torchserve.conf'),
   '/usr/share/nginx/modules-available/mod-http-torchserve.conf',
   "enabled by the maintainer script, as Debian's module packages are");
ok(-x '/usr/bin/ngx-torchserve' && -x '/usr/bin/archive_tool', "the tools");
ok(-f "/usr/share/doc/$pkg/nginx.conf.example"
   && -f "/usr/share/doc/$pkg/grafana-dashboard.json",
   "the example config and the Grafana dashboard");
like(do { local (@ARGV, $/) = ("/usr/share/doc/$pkg/torchserve.help.txt"); <> },
     qr/^usage: torchserve /, "the torchserve command's help text");
like(`/usr/bin/torchserve -v 2>&1`, qr/^TorchServe Version is /,
     "torchserve is on PATH (an alternative)");

open my $fh, '>', $snippet or die "$snippet: $!";
print $fh <<"_EOC_";
torchserve_model_store $fixtures;
torchserve_model digits digits.mar;
server {
    listen 127.0.0.1:1;
    location / { torchserve_inference; }
}
_EOC_
close $fh;

my $t = `nginx -t 2>&1`;
is($?, 0, "nginx -t: Debian's nginx.conf with the module and a model")
    or diag($t);
like($t, qr/syntax is ok/, "... syntax is ok");
unlink $snippet;

$log = `dpkg -r $pkg 2>&1`;
is($?, 0, "dpkg -r removes it") or diag($log);

ok(!-e '/usr/lib/nginx/modules/ngx_http_torchserve_module.so'
   && !-e '/usr/lib/nginx/modules/torchserve_python',
   "the module and its Python package are gone");
ok(!-e '/etc/nginx/modules-enabled/50-mod-http-torchserve.conf'
   && !-l '/etc/nginx/modules-enabled/50-mod-http-torchserve.conf',
   "the modules-enabled symlink is gone");
ok(!-e '/usr/bin/torchserve' && !-e '/usr/bin/ngx-torchserve'
   && !-e '/usr/bin/archive_tool' && !-e '/usr/bin/torch-model-archiver',
   "the tools and their alternatives are gone");
ok(!-e '/etc/alternatives/torchserve', "no alternative left behind");
ok(!-e "/usr/share/doc/$pkg", "no docs left behind");

$t = `nginx -t 2>&1`;
is($?, 0, "Debian's nginx.conf still passes nginx -t without it") or diag($t);

done_testing();
