# The OpenAPI descriptions (#15, API.md section 0): "OPTIONS /" and
# "/api-description" on each API answer an OpenAPI 3.0 document of that
# API's routes, and "OPTIONS /predictions/{m}[/{v}]" one of the model's.
# Each document is checked here as OpenAPI 3.0 requires it (openapi, info
# with title and version, paths; every operation with responses, every
# response with a description and its JSON shape, every path parameter
# declared and required) and against the routes the API serves.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;
use JSON::PP ();

repeat_each(1);

# per request: status and body (and the log, in the last block)
plan tests => repeat_each() * (4 * 2 * 2 + 2 * 3);

no_shuffle();
no_root_location();

our %Methods = map { $_ => 1 } qw(get put post delete options head patch trace);

# the routes each API serves, "METHOD path"
our @Inference = (
    "options /", "get /api-description", "get /ping",
    "post /predictions/{model_name}", "options /predictions/{model_name}",
    "post /predictions/{model_name}/{model_version}",
    "post /explanations/{model_name}",
    "post /explanations/{model_name}/{model_version}",
    "get /v1/models/{model_name}", "post /v1/models/{model_name}:predict",
    "post /v1/models/{model_name}:explain",
    "post /v2/models/{model_name}/explain",
    "post /v2/models/{model_name}/versions/{model_version}/explain",
    "get /v2", "get /v2/health/live", "get /v2/health/ready",
    "get /v2/models/{model_name}", "get /v2/models/{model_name}/ready",
    "post /v2/models/{model_name}/infer",
    "get /v2/models/{model_name}/versions/{model_version}",
    "get /v2/models/{model_name}/versions/{model_version}/ready",
    "post /v2/models/{model_name}/versions/{model_version}/infer");
our @Management = (
    "options /", "get /api-description", "get /models", "post /models",
    "get /models/{model_name}", "put /models/{model_name}",
    "delete /models/{model_name}", "get /models/{model_name}/all",
    "get /models/{model_name}/{model_version}",
    "put /models/{model_name}/{model_version}",
    "delete /models/{model_name}/{model_version}",
    "put /models/{model_name}/{model_version}/set-default",
    "get /v1/models/{model_name}");
our @Metrics = ("options /", "get /api-description", "get /metrics");

# response_body_filters: "valid\n", or what is wrong with the document
sub openapi_ok {
    my @routes = @_;
    return sub {
        my ($body) = @_;
        my $doc = eval { JSON::PP::decode_json($body) };
        return "not JSON: $@" unless $doc;
        my @why;
        push @why, "openapi is not 3.0.x" unless ($doc->{openapi} // '') =~ /^3\.0\.\d+$/;
        push @why, "info needs a title and a version"
            unless ref $doc->{info} eq 'HASH' && $doc->{info}{title}
                   && defined $doc->{info}{version};
        my $paths = $doc->{paths};
        return "no paths\n" unless ref $paths eq 'HASH' && %$paths;
        my %seen;
        for my $path (sort keys %$paths) {
            push @why, "$path does not start with /" unless $path =~ m{^/};
            for my $method (sort keys %{ $paths->{$path} }) {
                my $op = $paths->{$path}{$method};
                push @why, "$path: $method is not an HTTP method"
                    unless $Methods{$method};
                $seen{"$method $path"} = 1;
                my %declared = map { $_->{name} => $_ }
                               grep { $_->{in} eq 'path' } @{ $op->{parameters} || [] };
                for my $p ($path =~ /\{([^}]+)\}/g) {
                    push @why, "$method $path: {$p} is not a required path parameter"
                        unless $declared{$p} && $declared{$p}{required};
                }
                for my $p (@{ $op->{parameters} || [] }) {
                    push @why, "$method $path: a parameter needs name, in and schema"
                        unless $p->{name} && $p->{in} =~ /^(path|query|header|cookie)$/
                               && ref $p->{schema} eq 'HASH';
                }
                my $responses = $op->{responses};
                push @why, "$method $path: no responses"
                    unless ref $responses eq 'HASH' && %$responses;
                for my $code (sort keys %{ $responses || {} }) {
                    my $r = $responses->{$code};
                    push @why, "$method $path $code: no description"
                        unless defined $r->{description} && length $r->{description};
                    my ($media) = values %{ $r->{content} || {} };
                    push @why, "$method $path $code: no schema"
                        unless $media && ref $media->{schema} eq 'HASH';
                    my $ref = $media && $media->{schema}{'$ref'};
                    if ($ref) {
                        my ($name) = $ref =~ m{^#/components/schemas/(.+)$};
                        push @why, "$method $path $code: $ref is not defined"
                            unless $name && $doc->{components}{schemas}{$name};
                    }
                }
            }
        }
        for my $route (@routes) {
            push @why, "$route is missing" unless $seen{$route};
            delete $seen{$route};
        }
        push @why, "$_ is not one of ours" for sort keys %seen;
        return @why ? join("\n", @why) . "\n" : "valid\n";
    };
}

run_tests();

__DATA__

=== TEST 1: the inference API describes its routes, at OPTIONS / and /api-description
--- http_config eval: main::models_config("digits digits.mar")
--- config
    location / { torchserve_inference; }
--- request eval
["OPTIONS /", "GET /api-description"]
--- response_body_filters eval
[[main::openapi_ok(@::Inference)], [main::openapi_ok(@::Inference)]]
--- response_body eval
["valid\n", "valid\n"]



=== TEST 2: the management API
--- config
    location / { torchserve_management; }
--- request eval
["OPTIONS /", "POST /api-description"]
--- response_body_filters eval
[[main::openapi_ok(@::Management)], [main::openapi_ok(@::Management)]]
--- response_body eval
["valid\n", "valid\n"]



=== TEST 3: the metrics API
--- config
    location / { torchserve_metrics; }
--- request eval
["OPTIONS /", "GET /api-description"]
--- response_body_filters eval
[[main::openapi_ok(@::Metrics)], [main::openapi_ok(@::Metrics)]]
--- response_body eval
["valid\n", "valid\n"]



=== TEST 4: OPTIONS /predictions/{m}[/{v}]: the model's own predictions
--- http_config eval: main::models_config("digits digits.mar")
--- config
    location / { torchserve_inference; }
--- request eval
["OPTIONS /predictions/digits", "OPTIONS /predictions/digits/1.0"]
--- response_body_filters eval
[[main::openapi_ok("post /predictions/digits", "post /predictions/digits/1.0")],
 [main::openapi_ok("post /predictions/digits", "post /predictions/digits/1.0")]]
--- response_body eval
["valid\n", "valid\n"]



=== TEST 5: an unknown model has no description; GET / is still 405
--- http_config eval: main::models_config("digits digits.mar")
--- config
    location / { torchserve_inference; }
--- request eval
["OPTIONS /predictions/nosuch", "GET /"]
--- error_code eval
[404, 405]
--- response_body_like eval
[qr/"message": "Model not found: nosuch"/, qr/"code": 405/]
--- no_error_log
[error]
