# The README's Configuration example is a complete nginx.conf: nginx -t
# passes on it as written, with only the module's path (the built one
# instead of the installed one) and its model store (a copy of the test
# fixtures' MNIST archive) changed.
use strict;
use warnings;

use File::Copy qw(copy);
use File::Temp qw(tempdir);
use FindBin;
use Test::More;

my $top = "$FindBin::Bin/../..";
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES}
    || "$top/build/ngx_http_torchserve_module.so";
my $fixtures = $ENV{TEST_NGINX_FIXTURES} || "$top/build/fixtures";

open my $fh, '<', "$top/README.md" or die "README.md: $!";
my $readme = do { local $/; <$fh> };
close $fh;

my ($conf) = $readme =~ /^## Configuration\n.*?^```nginx\n(.*?)^```$/ms;
ok(defined $conf, "the Configuration section has an nginx block")
    or BAIL_OUT("no example");

like($conf, qr/^load_module modules\/ngx_http_torchserve_module\.so;$/m,
     "it loads the module where make install puts it");
like($conf, qr/^events \{/m, "it has an events block");

my $dir = tempdir(CLEANUP => 1);
mkdir "$dir/store" or die $!;
for my $mar ('mnist.mar', 'mnist_v2.mar') {
    copy("$fixtures/at_mnist/mnist.mar", "$dir/store/$mar") or die $!;
}

$conf =~ s{^load_module modules/ngx_http_torchserve_module\.so;}
          {load_module $module;}m;
$conf =~ s{(torchserve_model_store) \S+;}{$1 $dir/store;};

open $fh, '>', "$dir/nginx.conf" or die $!;
print $fh $conf;
close $fh;

my $out = `$nginx -t -p $dir -c $dir/nginx.conf -e $dir/error.log -g "pid $dir/nginx.pid;" 2>&1`;
is($? >> 8, 0, "nginx -t passes on it") or diag $out;
like($out, qr/test is successful/, "nginx says so");

done_testing();
