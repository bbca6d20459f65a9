# A Python model in 2 worker processes: each loads its own copy (its own
# interpreter), describe shows both with their private memory, and a
# reload while requests keep coming loses none of them.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

master_on();
workers(2);
worker_connections(1024);
repeat_each(1);
plan tests => repeat_each() * (blocks() * 3 + 1);

no_shuffle();
no_root_location();

our $Iso = fixture('iso_input.json');

add_block_defaults(
    http_config  => models_config("iso_a iso_a.mar"),
    config       => "location = /fan.html { ssi on; }\n"
                    . post_location("/one", "/predictions/iso_a", $Iso)
                    . $ApiLocations,
    no_error_log => "[error]");

run_tests();

__DATA__

=== TEST 1: both worker processes hold the model, each with its memory
Each process loads it at its start (torch's import takes a second or
two): wait until both say READY.
--- init
main::wait_ready(2, "iso_a");
--- request
GET /models/iso_a
--- response_body_like: "workers": \[\n(?:      \{\n        "id": "\d+",\n        "startTime": "[^"]+",\n        "status": "READY",\n        "memoryUsage": [1-9]\d*,\n        "pid": \d+,\n        "gpu": false,\n        "gpuUsage": "N/A"\n      \},?\n){2}    \]



=== TEST 2: 3000 requests in a row while nginx reloads twice
New worker processes start their interpreters while the old ones finish.
--- request eval
main::reload_while_serving(qr{POST /predictions/iso_a}, 2, 0.5);
"GET /fan.html"
--- user_files eval
main::fan_out("fan.html", 3000, "/one", 1)
--- timeout: 120
--- response_body eval
main::python_expected("iso_a", "body") x 3000
--- error_log
reconfiguring
