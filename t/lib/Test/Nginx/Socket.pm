package Test::Nginx::Socket;

# Our stand-in for openresty's Test::Nginx::Socket (CPAN only, unreachable
# here): the HTTP client and the per-request checks.  Test::Nginx::Util
# runs nginx.  A t/*.t file must not be able to tell the two apart, so the
# exports, the subtest names and above all the number of subtests per block
# follow the real one; see the POD at the end for the counting rules.

use strict;
use warnings;

# -base (lower case) makes us a Test::Base subclass without Spiffy's source
# filter; the test file's "use Test::Nginx::Socket" then goes through
# Test::Base's import (plans such as 'no_plan' or skip_all => ...) and gets
# Test::Base's exports (plan, blocks, is, like, ...) together with ours.
use Test::Base -base;

use Test::Nginx::Util;

use Carp ();
use Digest::MD5 ();
use Digest::SHA ();
use Encode ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX qw(EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(sleep);

our @EXPORT = qw( env_to_nginx is_str plan run_tests run_test
  repeat_each config_preamble worker_connections
  master_process_enabled
  no_long_string workers master_on master_off
  log_level no_shuffle no_root_location use_hup
  server_name
  server_addr server_root html_dir server_port server_port_for_client
  timeout no_nginx_manager check_accum_error_log
  add_block_preprocessor bail_out add_test_cleanup_handler add_cleanup_handler
  add_response_body_check
);

$Test::Nginx::Util::RunTestHelper = \&run_test_helper;
$Test::Nginx::Util::CheckErrorLog = \&check_error_log;

our @ResponseBodyChecks;
our $TotalConnectingTimeouts = 0;

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }
sub set_http_config_filter ($) {
    $Test::Nginx::Util::FilterHttpConfig = shift;
}

# Strings are compared with is(); a failure between multi-line strings also
# gets a diff (the real one uses Test::LongString, which we do not have).
sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($Test::Nginx::Util::NoLongString || !defined $got
        || !defined $expected || $got eq $expected
        || "$got$expected" !~ /\n./ || !eval { require Text::Diff; 1 })
    {
        return Test::More::is($got, $expected, $desc);
    }
    my $ok = Test::More::ok(0, $desc);
    Test::More::diag(Text::Diff::diff(\$expected, \$got,
                     { FILENAME_A => 'expected', FILENAME_B => 'got' }));
    return $ok;
}

# --- building requests ------------------------------------------------------

# "--- more_headers" lines to "Key: value\r\n"; '#' lines are comments.
sub parse_more_headers ($) {
    my $in = shift;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $in) {
        next if $line =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $chunked);
}

# Turn "METHOD [URL [VERSION]]\nbody" into a real request, split into the
# same packets as the caller gave us:
#   - URL defaults to "/", VERSION to HTTP/1.1;
#   - "Host: localhost" and "Connection: <conn>" are added unless
#     more_headers has them, then more_headers;
#   - a non-empty body is trimmed of surrounding whitespace and gets a
#     Content-Length, unless it is chunked or more_headers sets one.
# Each piece of the source maps to a replacement; a packet boundary inside
# a piece cuts the replacement at the same offset.
sub build_request ($$$$$) {
    my ($name, $more, $chunked, $conn, $packets) = @_;
    my $src = join '', @$packets;

    $src =~ /\A([^\n]*\n?)/;
    my $line = $1;
    bail_out("$name - Request line should be non-empty") if $line eq '';
    $line =~ /^(\s*)(\S+)( *)(?:(\S+)( *))?(?:(\S+)( *))?(\s*)$/
        or bail_out("$name - Request line is not valid. Should be "
                    . "'meth [url [version]]' but got \"$line\".");
    my ($meth, $url, $ver) = ($2, $4, $6);

    my @pieces;    # [from, to, replacement] over $src
    push @pieces, [$-[2], $+[2], "$meth "];
    push @pieces, defined $url ? [$-[4], $+[4], "$url "]
                               : [$+[3], $+[3], '/ '];
    my $ver_at = defined $url ? $+[5] : $+[3];
    push @pieces, defined $ver ? [$-[6], $+[6], "$ver\r\n"]
                               : [$ver_at, $ver_at, "HTTP/1.1\r\n"];

    my $body_at = length $line;
    my $body = substr $src, $body_at;
    my $len_header = '';
    my ($lead, $core) = (0, $body);
    if (!$chunked && $body ne '' && $more !~ /(?:^|\n)Content-Length:/) {
        $body =~ /\A(\s*)(.*?)\s*\z/s;
        ($lead, $core) = (length $1, $2);
        $len_header = 'Content-Length: ' . length($core) . "\r\n";
    }

    $more =~ s/(?<!\r)\n/\r\n/g;
    my $headers = '';
    $headers .= "Host: $Test::Nginx::Util::ServerName\r\n"
        unless $more =~ /(?:^|\n)Host:/i;
    $headers .= "Connection: $conn\r\n"
        unless $more =~ /(?:^|\n)Connection/i;
    $headers .= "$more$len_header\r\n";

    push @pieces, [$body_at, $body_at, $headers];
    push @pieces, [$body_at + $lead, $body_at + $lead + length $core, $core];
    # everything not covered by a piece (whitespace) is dropped

    # cut the output at the packets' boundaries
    my (@out, %inserted);
    my $start = 0;
    for my $i (0 .. $#$packets) {
        my $end = $start + length $packets->[$i];
        my $last = $i == $#$packets;
        my $o = '';
        for my $k (0 .. $#pieces) {
            my ($from, $to, $rep) = @{ $pieces[$k] };
            if ($from == $to) {
                # an insertion goes with the first packet ending at or
                # after it
                next if $inserted{$k} || ($from > $end && !$last);
                $inserted{$k} = 1;
                $o .= $rep;
                next;
            }
            next if $to <= $start || $from >= $end;
            my $off = $start > $from ? $start - $from : 0;
            next if $off >= length $rep;
            $o .= ($end < $to && !$last)
                  ? substr($rep, $off, $end - $from - $off)
                  : substr($rep, $off);
        }
        push @out, $o;
        $start = $end;
    }
    return \@out;
}

# The requests of a block: a list of requests, each a list of packets
# { value => bytes, delay_before => seconds }.
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        my @bits = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        return [[ map { +{ value => $_ } } @bits ]];
    }

    my $more = $block->more_headers || '';
    my $headers_for = sub {
        my $i = shift;
        return parse_more_headers($more) unless ref $more eq 'ARRAY';
        bail_out("$name - --- more_headers lacks data for the ${i}th request")
            unless defined $more->[$i];
        return parse_more_headers($more->[$i]);
    };

    # pipelined: one connection, keep-alive for all but the last request
    if (my $reqs = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $reqs eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $req = expand_env_in_text($reqs->[$i], $name,
                                         $Test::Nginx::Util::RandPorts);
            my ($hdr, $chunked) = $headers_for->($i);
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            $all .= build_request($name, $hdr, $chunked, $conn, [$req])->[0];
        }
        return [[{ value => $all }]];
    }

    my $request = $block->request;
    bail_out("$name - request empty") unless defined $request;

    if (!ref $request) {
        # leading blank lines and '#' comment lines are not part of it
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//s;
        my ($hdr, $chunked) = $headers_for->(0);
        my $pk = build_request($name, $hdr, $chunked, 'close', [$request]);
        return [[{ value => $pk->[0] }]];
    }

    bail_out("$name - invalid ---request : MUST be string or array of "
             . "requests") unless ref $request eq 'ARRAY';

    my @list;
    for my $i (0 .. $#$request) {
        my $one = $request->[$i];
        my ($hdr, $chunked) = $headers_for->($i);

        if (!ref $one) {
            my $pk = build_request($name, $hdr, $chunked, 'close', [$one]);
            push @list, [{ value => $pk->[0] }];
            next;
        }

        bail_out("$name - Invalid syntax. $one should be a string or an "
                 . "array of packets.") unless ref $one eq 'ARRAY';

        # a request given as packets, each a string or { value, delay_before }
        my @values = map {
            !ref $_ ? $_
            : ref $_ eq 'HASH' ? $_->{value}
            : bail_out("$name - Invalid syntax. $_ should be a string or "
                       . "hash with value.")
        } @$one;
        my $pk = build_request($name, $hdr, $chunked, 'close', \@values);
        push @list, [ map {
            my $orig = $one->[$_];
            +{ %{ ref $orig ? $orig : {} }, value => $pk->[$_] }
        } 0 .. $#$pk ];
    }
    return \@list;
}

# --- the client -------------------------------------------------------------

# Send one request (its packets, with their delays) on a new connection and
# read until nginx closes it.  Like the real one, "timeout" bounds the wait
# between two I/O events, not the whole exchange; when it expires that is a
# failed subtest unless the block has "--- abort".
sub send_request ($$$$) {
    my ($packets, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;
    my @bits = @$packets;

    my $head_req = (join '', map { $_->{value} } @bits) =~ /^\s*HEAD\s+/;

    my $addr = scalar($block->server_addr_for_client)
               // $Test::Nginx::Util::ServerAddr;
    my $port = $Test::Nginx::Util::ServerPortForClient;

    my $sock;
    my $total = $TotalConnectingTimeouts ? 20 : 50;
    for my $try (1 .. $total) {
        $sock = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        my $err = $!;

        # nginx crashed: its pid file is there but the process is not
        my $pid = read_pid_file();
        if ($pid && !is_running($pid)) {
            $! = $err;
            last;
        }

        my $s = sleep_time();
        my $wait = ($s + $s * $try) * $try / 2;
        $wait = 1 if $wait > 1;
        warn "$name - Can't connect to $addr:$port: $err\n"
             . "\tRetry connecting after $wait sec\n" if $wait >= 0.6;
        sleep $wait;
        $! = $err;
    }

    if (!$sock) {
        my $msg = "$name - Can't connect to $addr:$port: $! (aborted)\n";
        bail_out($msg) if ++$TotalConnectingTimeouts >= 3;
        Test::More->builder->no_ending(1);
        Test::More::fail($msg);
        return (undef, $head_req);
    }

    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my $sel = IO::Select->new($sock);
    my $resp = '';
    my $first = shift @bits;
    my $out = $first->{value} // '';
    my $writing = 1;

    while (1) {
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef,
                                         undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            if (!defined $block->abort) {
                Test::More->builder->no_ending(1);
                Test::More::fail("ERROR: client socket timed out - $name\n");
            }
            last;
        }

        if ($w && @$w) {
            my $n = length $out ? syswrite($sock, $out) : 0;
            if (!defined $n) {
                if ($! != EAGAIN && $! != EWOULDBLOCK) {
                    # nginx may have answered early (413, 400...): stop
                    # writing but still read what it sent
                    warn "$name - write failed: $!\n";
                    $writing = 0;
                }
            } else {
                substr($out, 0, $n) = '';
                while ($out eq '' && @bits) {
                    my $next = shift @bits;
                    my $delay = $next->{delay_before} // $middle_delay;
                    sleep $delay if $delay;
                    $out = $next->{value} // '';
                }
                if ($out eq '' && !@bits) {
                    $writing = 0;
                    my $how = $block->shutdown;
                    if (defined $how) {
                        shutdown $sock, ($how =~ /^\s*$/ ? 1 : $how);
                    }
                }
            }
        }

        if ($r && @$r) {
            my $n = sysread $sock, my $buf, 8192;
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                warn "WARNING: $name - HTTP response read failure: $!\n";
                last;
            }
            last if $n == 0;
            $resp .= $buf;
        }
    }

    close $sock;
    return ($resp, $head_req);
}

# --- responses --------------------------------------------------------------

# A response is { code, headers => [[name, value]...], content }.
sub resp_header ($$) {
    my ($res, $key) = @_;
    return undef unless $res;
    my @v = map { $_->[1] }
            grep { lc $_->[0] eq lc $key } @{ $res->{headers} };
    return @v ? join(', ', @v) : undef;
}

# Parse one response from the front of $raw.  Returns the response, the raw
# header text (status line included, ending in one CRLF) and any bytes
# after it (the next pipelined response).
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /\A(.*?\r\n)\r\n/s ? $1 : '';
    my ($head, $rest) = $raw =~ /\A(.*?)\r?\n\r?\n(.*)\z/s ? ($1, $2)
                      : ($raw, '');

    my @lines = split /\r?\n/, $head;
    my $status = shift(@lines) // '';
    my $code = $status =~ m{^HTTP/\S+\s+(\d+)} ? $1 : undef;
    my @headers = map { /^([^:\s]+)\s*:\s*(.*?)\s*$/ ? [$1, $2] : () } @lines;
    my $res = { code => $code, headers => \@headers, content => $rest };

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $te = resp_header($res, 'Transfer-Encoding');
    my $len = resp_header($res, 'Content-Length');
    my $left;

    if ($head_req) {
        ($res->{content}, $left) = ('', $rest);

    } elsif (defined $te && $te eq 'chunked') {
        my $decoded = '';
        pos($rest) = 0;
        while (1) {
            if ($rest =~ /\G0[ \t]*\r\n/gc) {
                # trailers, then the final CRLF
                1 while $rest =~ /\G[^\r\n]+\r\n/gc;
                if ($rest !~ /\G\r\n/gc) {
                    Test::More->builder->no_ending(1);
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(expected CRLF).");
                    return;
                }
                $left = substr $rest, pos $rest;
                last;
            }
            if ($rest =~ /\G[ \t]*([0-9A-Fa-f]+)[^\r\n]*\r\n/gc) {
                my $size = hex $1;
                my $at = pos $rest;
                if (length($rest) - $at < $size + 2
                    || substr($rest, $at + $size, 2) ne "\r\n")
                {
                    Test::More->builder->no_ending(1);
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enough octets for the data "
                                     . "section or no CRLF after it)");
                    return;
                }
                $decoded .= substr $rest, $at, $size;
                pos($rest) = $at + $size + 2;
                next;
            }
            Test::More->builder->no_ending(1);
            Test::More::fail(length($rest) > (pos($rest) // 0)
                ? "$name - invalid chunked body received: "
                  . substr($rest, pos $rest)
                : "$name - no last chunk found - $rest");
            return;
        }
        $res->{content} = $decoded;

    } elsif (defined $len && $len =~ /^\d+$/) {
        if (length $rest > $len) {
            $res->{content} = substr $rest, 0, $len;
            $left = substr $rest, $len;
        } elsif (length $rest < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got " . length($rest) . "\n";
        }
    }

    $left = undef if defined $left && $left eq '';
    return ($res, $raw_headers, $left);
}

# With several requests every expected value must be an array, indexed by
# request; with one, an array's first element is used.
sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$req_idx] if ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    return ref $value eq 'ARRAY' ? $value->[0] : $value;
}

# --- checks, one function per kind as in the real one -----------------------

sub check_error_code ($$$$) {
    my ($block, $res, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->{code}) || '';

    if (defined $block->error_code_like) {
        my $pat = get_indexed_value($name, $block->error_code_like, $req_idx,
                                    $need_array);
        Test::More::like($code, qr/$pat/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        Test::More::is($code, get_indexed_value($name, $block->error_code,
                                                $req_idx, $need_array),
                       "$name - status code ok");
    } else {
        Test::More::is($code, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->raw_response_headers_like) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_like,
                                    $req_idx, $need_array);
        Test::More::like($raw_headers, qr/$pat/s,
                         "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = get_indexed_value($name,
                                    $block->raw_response_headers_unlike,
                                    $req_idx, $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s,
                           "$name - raw resp headers unlike");
    }
}

# One subtest per header named; response_headers_like only counts when
# there is no response_headers section.
sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $port = $Test::Nginx::Util::ServerPort;
    my $cport = $Test::Nginx::Util::ServerPortForClient;

    if (defined $block->response_headers) {
        my $pairs = parse_headers(get_indexed_value(
            $name, $block->response_headers, $req_idx, $need_array));
        for my $p (@$pairs) {
            my ($key, $val) = @$p;
            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                    "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$port/g;
            $val =~ s/\$ServerPortForClient\b/$cport/g;
            Test::More::is(resp_header($res, $key) // '', $val,
                           "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $pairs = parse_headers(get_indexed_value(
            $name, $block->response_headers_like, $req_idx, $need_array));
        for my $p (@$pairs) {
            my ($key, $val) = @$p;
            $val //= '';
            Test::More::like(resp_header($res, $key) // '', qr/^$val$/,
                             "$name - header $key like ok");
        }
    }
}

# response_body_filters: names (md5_hex sha1_hex uc lc ucfirst lcfirst
# length, space-separated), a code ref, an array of those, or an array of
# arrays indexed by request.
sub run_filter ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;

    return $filter->($content) if ref $filter eq 'CODE';
    bail_out("$name - the --- response_body_filters section only supports "
             . "subroutine reference values and string values") if ref $filter;

    my %builtin = (
        md5_hex  => \&Digest::MD5::md5_hex,
        sha1_hex => \&Digest::SHA::sha1_hex,
        uc       => sub { uc $_[0] },
        lc       => sub { lc $_[0] },
        ucfirst  => sub { ucfirst $_[0] },
        lcfirst  => sub { lcfirst $_[0] },
        length   => sub { length $_[0] },
    );
    my $f = $builtin{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the "
                    . "--- response_body_filters section");
    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;
    my $filters = $block->response_body_filters;
    return unless $res && defined $res->{content} && defined $filters;
    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//g;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }

    if (ref $filters->[0] eq 'ARRAY') {
        bail_out("$name - the --- response_body_filters two-dimensional "
                 . "array only be like [[uc], [lc]] not [[uc], lc]")
            if grep { ref $_ ne 'ARRAY' } @$filters;
        $filters = $filters->[$req_idx]
            // bail_out("$name - the ---response_body_filters "
                        . "two-dimensional array unmatch the specified "
                        . "request($req_idx)");
    }

    my $content = $res->{content};
    $content = run_filter($block, $_, $content) for @$filters;
    # the real one stores the result with HTTP::Response->content, which
    # dies on a character string that is not bytes
    if (defined $content && utf8::is_utf8($content)) {
        my $copy = $content;
        utf8::downgrade($copy, 1)
            or Carp::croak("HTTP::Message content must be bytes");
    }
    $res->{content} = $content;
}

sub check_response_body ($$$$$) {
    my ($block, $res, $req_idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $port = $Test::Nginx::Util::ServerPort;
    my $cport = $Test::Nginx::Util::ServerPortForClient;
    my $content = $res ? $res->{content} : undef;

    if (defined(my $file = $block->write_resp_body_file) && $res) {
        open my $out, '>', $file
            or bail_out("$name - failed to write to file '$file': $!");
        print $out $content // '';
        close $out;
    }

    # the real one drops these two lines (LWP's) from the body it compares
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
        $content =~ s/^Connection: TE, close\r\n//gms;
    }

    if (defined $block->response_body || defined $block->response_body_eval) {
        if (defined $block->response_body_json_sort && defined $content) {
            my $js = JSON::PP->new->canonical(1);
            my $obj = eval { $js->loose(1)->decode($content) };
            $content = $js->encode($obj) . "\n" if defined $obj;
        }

        my $expected;
        if (defined $block->response_body_eval) {
            $expected = eval get_indexed_value($name,
                $block->response_body_eval, $req_idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body,
                                          $req_idx, $need_array);
        }

        Encode::from_to($expected, 'UTF-8', $block->charset)
            if $block->charset;

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$port/g;
            $expected =~ s/\$ServerPortForClient\b/$cport/g;
            $expected = expand_env_in_text($expected, $name,
                                           $Test::Nginx::Util::RandPorts);
        }

        if (ref $expected) {
            Test::More::like($content, $expected, "$name - response_body - "
                             . "like (repeated req $rep, req $req_idx)");
        } else {
            is_str($content, $expected, "$name - response_body - response "
                   . "is expected (repeated req $rep, req $req_idx)");
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $like = defined $block->response_body_like;
        my $pats = $like ? $block->response_body_like
                         : $block->response_body_unlike;
        my $pat = get_indexed_value($name, $pats, $req_idx, $need_array);
        $pat =~ s/\$ServerPort\b/$port/g;
        $pat =~ s/\$ServerPortForClient\b/$cport/g;
        my $summary = trim($content) // '';
        my $type = $like ? 'like' : 'unlike';
        my $desc = "$name - response_body_$type - response is expected "
                   . "($summary)";
        $like ? Test::More::like($content, qr/$pat/s, $desc)
              : Test::More::unlike($content, qr/$pat/s, $desc);
    }

    # the body as filtered, neither stripped nor JSON-sorted
    $_->($block, $res ? $res->{content} : undef, $req_idx, $rep, 0)
        for @ResponseBodyChecks;
}

# --- log checks -------------------------------------------------------------

# A section's patterns: lines of a string, one qr//, or an array of either.
sub log_patterns ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return split /\n+/, $pats;
    }
    return ref $pats eq 'Regexp' ? ($pats) : @$pats;
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# As in the real one: error_log passes come in the order the log matches
# the patterns, then one fail per pattern never matched; no_error_log fails
# once per matching line (more subtests than planned when a pattern matches
# twice, so the plan check is then turned off), else passes once.
sub check_log_patterns ($$$$$$) {
    my ($name, $file, $lines, $must, $must_not, $rep) = @_;

    if (defined $must) {
        my @pats = grep { defined } log_patterns($must);
        for my $line (@$lines) {
            for my $pat (@pats) {
                next unless defined $pat && line_matches($line, $pat);
                Test::More::pass("$name - pattern \"$pat\" matches a line "
                                 . "in $file (req $rep)");
                undef $pat;
            }
        }
        for my $pat (grep { defined } @pats) {
            Test::More::fail("$name - pattern \"$pat\" should match a "
                             . "line in $file (req $rep)");
        }
    }

    if (defined $must_not) {
        my @pats = grep { defined } log_patterns($must_not);
        my %found;
        for my $i (0 .. $#$lines) {
            for my $pat (@pats) {
                next unless line_matches($lines->[$i], $pat);
                Test::More->builder->no_ending(1) if $found{$pat}++;
                my $end = ($i + 10 < $#$lines ? $i + 10 : $#$lines) - 1;
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                    . "\" should not match any line in $file but matches "
                    . "line \"" . fmt_str($lines->[$i]) . "\" (req $rep)\n"
                    . join '', @$lines[$i + 1 .. $end]);
            }
        }
        for my $pat (@pats) {
            next if $found{$pat};
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                             . "\" does not match a line in $file (req $rep)");
        }
    }
}

sub value_contains ($$) {
    my ($val, $pat) = @_;
    return 0 unless defined $val;
    return scalar grep { defined $_ && index("$_", $pat) >= 0 }
                      (ref $val eq 'ARRAY' ? @$val : ($val));
}

# Runs after every request: grep_error_log (1 subtest), error_log and
# no_error_log (1 per pattern), and warnings for unexpected [alert],
# [crit] and [emerg] lines.
sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $rep, $need_array) = @_;
    my $name = $block->name;

    my $grep = $block->grep_error_log;
    $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
    if (!defined $block->grep_error_log
        && defined $block->grep_error_log_out)
    {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined");
    }

    my $lines = error_log_data();

    if (defined $grep) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but "
                 . "--- grep_error_log is defined") unless defined $expected;
        $expected = expand_env_in_text($expected, $name,
                                       $Test::Nginx::Util::RandPorts);
        $expected = $expected->[$rep] if ref $expected eq 'ARRAY';

        my $matched = '';
        for my $line (@$lines) {
            if ((ref $grep && $line =~ /$grep/) || $line =~ /\Q$grep\E/) {
                $matched .= "$&\n" if $& !~ /\n/;
            }
        }
        is_str($matched, $expected,
               "$name - grep_error_log_out (req $rep)");
    }

    check_log_patterns($name, 'error.log', $lines, $block->error_log,
                       $block->no_error_log, $rep);

    for my $level (qw(alert crit emerg)) {
        next if value_contains($block->error_log, "[$level")
             || value_contains($block->no_error_log, "[$level");
        for my $line (grep { /\[$level\]/ } @$lines) {
            warn "WARNING: $name - " . fmt_str($line) . "\n";
        }
    }

    for my $line (grep { /\bAssertion .*?failed\b/ } @$lines) {
        Test::More->builder->no_ending(1);
        chomp(my $l = $line);
        Test::More::fail("$name - $l\n");
    }
}

sub check_access_log ($$) {
    my ($block, $rep) = @_;
    return unless defined $block->access_log
                  || defined $block->no_access_log;
    check_log_patterns($block->name, 'access.log', access_log_data(),
                       $block->access_log, $block->no_access_log, $rep);
}

# --- one repetition of a block ----------------------------------------------

sub run_test_helper ($$$) {
    my ($block, $dry_run, $rep) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout) // timeout();
    my $pipelined = $block->pipelined_requests;
    my $per_conn = $pipelined ? scalar @$pipelined : 1;
    my $need_array = $pipelined ? 1 : @$reqs > 1;
    my $ignore = defined $block->ignore_response;
    my ($res, $req_idx) = (undef, 0);

    for my $r (0 .. $#$reqs) {
        my ($raw, $head_req) = send_request($reqs->[$r],
                                     scalar($block->raw_request_middle_delay),
                                     $timeout, $block);
        $raw //= '';

        for my $k (1 .. $per_conn) {
            my ($raw_headers, $left) = ('', undef);

            if (!$ignore) {
                if (defined $block->http09) {
                    $res = { code => 200, headers => [], content => $raw };
                } else {
                    ($res, $raw_headers, $left) =
                        parse_response($name, $raw, $head_req);
                    $raw_headers //= '';
                }

                check_error_code($block, $res, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $req_idx,
                                           $need_array);
                check_response_headers($block, $res, $raw_headers, $req_idx,
                                       $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $req_idx, $rep,
                                    $need_array);
            }

            if ($k < $per_conn) {
                $raw = $left // '';
            } elsif (defined $left && !$pipelined) {
                (my $l = $left)
                    =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                warn "WARNING: $name - unexpected extra bytes after last "
                     . "chunk in response: \"$l\"\n";
            }

            # the log checks run after each request but the last here, and
            # after the last one below
            if ($r < $#$reqs || $k < $per_conn) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $res, 0, $rep, $need_array);
                check_access_log($block, $rep) unless $ignore;
            }
            $req_idx++;
        }
    }

    sleep $block->wait if $block->wait;
    check_error_log($block, $res, 0, $rep, $need_array);
    check_access_log($block, $rep) unless $ignore;
}

1;

__END__

=head1 NAME

Test::Nginx::Socket - the project's compatible stand-in for openresty's
Test::Nginx::Socket

=head1 SYNOPSIS

    use Test::Nginx::Socket;

    repeat_each(2);
    plan tests => repeat_each() * (blocks() * 3);

    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello"; }
    --- request
    GET /t
    --- response_body chomp
    hello
    --- no_error_log
    [error]

Run with C<prove -I t/lib -r t/>.

=head1 COUNTING SUBTESTS

Per block and per C<repeat_each> repetition, for every request (1 for a
plain C<request>, N for C<request eval [...]> or C<pipelined_requests>
of N):

=over

=item * 1 for the status code (C<error_code>, C<error_code_like>, or 200
by default), unless C<ignore_response>;

=item * 1 per C<raw_response_headers_like> and C<raw_response_headers_unlike>;

=item * 1 per header named in C<response_headers> (C<Name: value> and
C<!Name> alike; a name listed twice counts once), or else 1 per header in
C<response_headers_like>;

=item * 1 if C<response_body>, C<response_body_like> or
C<response_body_unlike> is present;

=item * after each request: 1 if C<grep_error_log>, 1 per C<error_log>
pattern, 1 per C<no_error_log> pattern, and likewise for C<access_log> and
C<no_access_log>.

=back

A C<must_die> block: 1 plus the error-log subtests, per repetition. A
client timeout without C<--- abort> adds one failing subtest. A block
skipped by C<skip_eval>/C<skip_nginx> counts the number given there.

=cut
