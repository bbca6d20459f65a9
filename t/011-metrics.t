# Prometheus metrics with TorchServe's names, counted across both worker
# processes in the shared zone; name[] filtering.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

master_on();
workers(2);
repeat_each(1);

plan tests => repeat_each() * (3 * 8 + 4 + 5 + 4 + 3 * 4 + 5 + 1 + 15);

no_shuffle();
no_root_location();

our $S0 = sample(0);

# every metric conf/grafana-dashboard.json queries, as a /metrics line
our @DashboardMetrics = do {
    my $json = JSON::PP::decode_json(do {
        local $/;
        open my $fh, '<', "$FindBin::Bin/../conf/grafana-dashboard.json" or die $!;
        <$fh>;
    });
    my %seen;
    for my $p (@{ $json->{panels} }) {
        for my $t (@{ $p->{targets} }) {
            $seen{$1} = 1 while $t->{expr} =~ /\b([A-Za-z_][A-Za-z0-9_]*)(?=\{|\[)/g;
        }
    }
    my $q = $json->{templating}{list}[1]{query}{query};
    $seen{$1} = 1 if $q =~ /label_values\((\w+)/;
    die "the dashboard names only " . scalar(keys %seen) . " metrics\n"
        if keys %seen < 10;
    sort keys %seen;
};
our $DashboardRe = '\A' . CORE::join('', map { "(?=(?s:.*)^\Q$_\E\\{)" } @DashboardMetrics);

# ts_shm_pages / ts_shm_free_pages as "pages P, free F<+-d from the first>"
our $ZoneFree0;
sub zone_pages {
    my $b = shift;
    my ($pages) = $b =~ /^ts_shm_pages\{Level="Host",Hostname="[^"]+",\} (\d+)\.0$/m;
    my ($free) = $b =~ /^ts_shm_free_pages\{Level="Host",Hostname="[^"]+",\} (\d+)\.0$/m;
    return "other" unless defined $pages && defined $free;
    my $gauges = $b =~ /^# TYPE ts_shm_pages gauge$/m
                 && $b =~ /^# TYPE ts_shm_free_pages gauge$/m;
    $ZoneFree0 = $free unless defined $ZoneFree0;
    return sprintf "pages %s%s, free %s%+d",
        ($pages > 200 && $pages < 256 ? "200-255" : $pages),
        ($gauges ? " gauges" : ""),
        ($free < $pages ? "below" : "not below"), $free - $ZoneFree0;
}

run_tests();

__DATA__

=== TEST 1: counters of all processes, by model and version label
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
--- config
    location /metrics { torchserve_metrics; }
    location / { torchserve_inference; }
--- request eval
[
"POST /predictions/digits\n$::S0",
"POST /predictions/digits\n$::S0",
"POST /predictions/digits/1.0\n$::S0",
"POST /predictions/digits/1.0\n$::S0",
"POST /predictions/digits/1.0\n$::S0",
"POST /predictions/nosuch\n$::S0",
"GET /metrics",
"GET /metrics?name[]=ts_inference_requests_total&name[]=Requests4XX",
]
--- error_code eval
[200, 200, 200, 200, 200, 404, 200, 200]
--- response_body_like eval
[
qr/^\[/, qr/^\[/, qr/^\[/, qr/^\[/, qr/^\[/,
qr/ModelNotFoundException/,
qr/\A# HELP Requests2XX Torchserve prometheus counter metric with unit: Count\n# TYPE Requests2XX counter\nRequests2XX\{Level="Host",Hostname="[^"]+",\} 5\.0\n(?s:.*)^Requests4XX\{Level="Host",Hostname="[^"]+",\} 1\.0\n(?s:.*)^ts_inference_requests_total\{model_name="digits",model_version="default",hostname="[^"]+",\} 2\.0\nts_inference_requests_total\{model_name="digits",model_version="1\.0",hostname="[^"]+",\} 3\.0\n(?s:.*)^ts_inference_latency_microseconds\{model_name="digits",model_version="default",hostname="[^"]+",\} [1-9]\d*\.0\n(?s:.*)^# TYPE ts_queue_latency_microseconds counter\n/m,
qr/\A# HELP Requests4XX [^\n]+\n# TYPE Requests4XX counter\nRequests4XX\{[^\n]+\} 1\.0\n# HELP ts_inference_requests_total [^\n]+\n# TYPE ts_inference_requests_total counter\n(?:ts_inference_requests_total\{[^\n]+\n){2}\z/,
]
--- no_error_log
[crit]



=== TEST 2: Prometheus' content type
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
--- config
    location /metrics { torchserve_metrics; }
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like: ^# HELP Requests2XX
--- no_error_log
[crit]



=== TEST 3: variables for logs and maps
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
--- config
    location / {
        torchserve_inference;
        add_header X-Model "$torchserve_model/$torchserve_model_version/$torchserve_batch_size" always;
        add_header X-Times "$torchserve_queue_time $torchserve_inference_time" always;
    }
--- request eval
"POST /predictions/digits\n$::S0"
--- response_headers_like
X-Model: ^digits/1\.0/1$
X-Times: ^\d+\.\d{6} \d+\.\d{6}$
--- response_body_like: ^\[
--- no_error_log
[crit]



=== TEST 4: empty for requests without a prediction
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
--- config
    location / {
        torchserve_inference;
        add_header X-Model "[$torchserve_model]" always;
    }
--- request
GET /ping
--- response_headers
X-Model: []
--- response_body_like: Healthy
--- no_error_log
[crit]



=== TEST 5: latency histograms (ours): queue, inference and total
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
--- config
    location /metrics { torchserve_metrics; }
    location / { torchserve_inference; }
--- request eval
[
"POST /predictions/digits\n$::S0",
"POST /predictions/digits\n$::S0",
"POST /predictions/digits\n$::S0",
"GET /metrics?name[]=ts_request_latency_seconds&name[]=ts_inference_seconds",
]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[
qr/^\[/, qr/^\[/, qr/^\[/,
qr/\A# HELP ts_inference_seconds [^\n]+\n# TYPE ts_inference_seconds histogram\nts_inference_seconds_bucket\{model_name="digits",model_version="default",hostname="[^"]+",le="0\.0001",\} \d+\.0\n(?s:.*)ts_inference_seconds_bucket\{[^\n]*le="\+Inf",\} 3\.0\nts_inference_seconds_count\{[^\n]+\} 3\.0\nts_inference_seconds_sum\{[^\n]+\} 0\.\d{6}\n# HELP ts_request_latency_seconds (?s:.*)ts_request_latency_seconds_count\{[^\n]+\} 3\.0\n/,
]
--- no_error_log
[crit]



=== TEST 6: the Grafana dashboard (conf/grafana-dashboard.json) parses, and every metric its panels query is in /metrics (ts_model_workers: each registered model's workers)
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar workers=3;
--- config
    location /metrics { torchserve_metrics; }
    location / { torchserve_inference; }
--- request eval
[ "POST /predictions/digits\n$::S0", "GET /metrics" ]
--- response_body_like eval
[ qr/^\[\n  0\.99968/,
  qr/$::DashboardRe(?s:.*)^ts_model_workers\{model_name="digits",model_version="1\.0",hostname="[^"]+",\} 3\.0$/m ]
--- no_error_log
[error]



=== TEST 7: the shared zone's pages (ours): two a registered model, back when it goes
--- http_config
    torchserve_zone torchserve:1m;
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
--- config
    location /models { torchserve_management; }
    location /metrics { torchserve_metrics; }
--- request eval
["GET /metrics?name[]=ts_shm_pages&name[]=ts_shm_free_pages",
 "POST /models?url=digits_v2.mar&model_name=extra&initial_workers=0",
 "GET /metrics?name[]=ts_shm_pages&name[]=ts_shm_free_pages",
 "DELETE /models/extra",
 "GET /metrics?name[]=ts_shm_pages&name[]=ts_shm_free_pages"]
--- response_body_filters eval
\&main::zone_pages
--- response_body eval
["pages 200-255 gauges, free below+0", "other",
 "pages 200-255 gauges, free below-2", "other",
 "pages 200-255 gauges, free below+0"]
--- no_error_log
[error]
