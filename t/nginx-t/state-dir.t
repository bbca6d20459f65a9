# nginx -t refuses a torchserve_state folder the worker processes' user
# cannot write (else registrations answer 200 and are lost at restart).
# Plain Test::More around a real nginx -t: Test::Nginx's blocks always run
# their workers as root when the tests do, so they cannot show this.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use Test::More;

plan skip_all => 'needs root (workers as nobody)' if $> != 0;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES}
    || "$FindBin::Bin/../../build/ngx_http_torchserve_module.so";
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;

sub nginx_t {
    my ($user, $state) = @_;
    my $conf = "$dir/nginx.conf";
    open my $fh, '>', $conf or die $!;
    print $fh <<"_EOC_";
load_module $module;
user $user;
error_log $dir/error.log;
pid $dir/nginx.pid;
events {}
http {
    torchserve_state $state;
    server { listen 127.0.0.1:1; }
}
_EOC_
    close $fh;
    my $out = `$nginx -t -c $conf 2>&1`;
    return ($? >> 8, $out);
}

mkdir "$dir/root" or die $!;           # root's, 0755
mkdir "$dir/nobody" or die $!;
chmod 0755, "$dir/root";
chown scalar(getpwnam('nobody')), -1, "$dir/nobody" or die $!;
my $nogroup = getgrnam('nogroup') // getgrnam('nobody');
mkdir "$dir/group" or die $!;
chown 0, $nogroup, "$dir/group" or die $!;
chmod 0775, "$dir/group";

my $group = getgrgid($nogroup);
my ($rc, $out) = nginx_t("nobody $group", "$dir/root/state.json");
isnt($rc, 0, "a root-owned 0755 folder is refused for nobody");
like($out, qr/torchserve_state "\Q$dir\E\/root\/state\.json": the worker processes' user "nobody" cannot write its folder "\Q$dir\E\/root": registrations would be lost at restart/,
     "the message names the user and the folder");

($rc, $out) = nginx_t("nobody $group", "$dir/nobody/state.json");
is($rc, 0, "a folder nobody owns passes") or diag $out;

($rc, $out) = nginx_t("nobody $group", "$dir/group/state.json");
is($rc, 0, "a folder of nobody's group, group-writable, passes") or diag $out;

($rc, $out) = nginx_t("root", "$dir/root/state.json");
is($rc, 0, "workers as root write anywhere") or diag $out;

done_testing();
