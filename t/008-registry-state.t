# torchserve_state: API registrations survive a full restart; a corrupt
# state file is refused with a clear log line, never half-applied.
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use TorchServeTest;
use Test::Nginx::Socket;

$ENV{TEST_NGINX_STATE_DIR} ||= tempdir(CLEANUP => 1);

master_on();
workers(2);
repeat_each(1);

plan tests => repeat_each() * (6 * (1 + 2 + 1) + 1);

no_shuffle();
no_root_location();

our $S0 = sample(0);

# TEST 3's corrupt state file, written before any nginx starts
{
    open my $fh, '>', "$ENV{TEST_NGINX_STATE_DIR}/bad.json" or die $!;
    print $fh '{"generation": 3, "models": [{"modelName": "half"';
    close $fh;
}

# TEST 4's state file: well-formed, with a batch size out of range
{
    open my $fh, '>', "$ENV{TEST_NGINX_STATE_DIR}/range.json" or die $!;
    print $fh JSON::PP::encode_json({ generation => 3, models => [{
        modelName => "big", modelVersion => "1.0", modelUrl => "digits.mar",
        path => fixture_path("digits.mar"), handler => "tensor",
        runtime => "python", device => "", minWorkers => 1,
        maxWorkers => 1, batchSize => 5000, maxBatchDelay => 100,
        responseTimeout => 120, jobQueueSize => 100, warmup => 3,
        isDefault => JSON::PP::true, loadedAtStartup => JSON::PP::false,
        inputDtype => -1, inputShape => [] }] });
    close $fh;
}

# TEST 5's state file: two versions of one name, each the default
{
    my %m = (modelName => "twice", modelUrl => "digits.mar",
        path => fixture_path("digits.mar"), handler => "tensor",
        runtime => "python", device => "", minWorkers => 1,
        maxWorkers => 1, batchSize => 1, maxBatchDelay => 100,
        responseTimeout => 120, jobQueueSize => 100, warmup => 3,
        isDefault => JSON::PP::true, loadedAtStartup => JSON::PP::false,
        inputDtype => -1, inputShape => []);
    open my $fh, '>', "$ENV{TEST_NGINX_STATE_DIR}/defaults.json" or die $!;
    print $fh JSON::PP::encode_json({ generation => 3, models => [
        { %m, modelVersion => "1.0" }, { %m, modelVersion => "2.0" } ] });
    close $fh;
}

# TEST 6's state file: more models than a 1m zone holds
{
    open my $fh, '>', "$ENV{TEST_NGINX_STATE_DIR}/many.json" or die $!;
    print $fh JSON::PP::encode_json({ generation => 3,
                                      models => [ map { {} } 1 .. 200 ] });
    close $fh;
}

add_block_defaults(
    config       => $ApiLocations,
    no_error_log => "[crit]");

run_tests();

__DATA__

=== TEST 1: a registration is written to the state file
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_state $TEST_NGINX_STATE_DIR/state.json;
--- request
POST /models?url=digits_v2.mar&model_name=api&initial_workers=1
--- response_body_like: "status": "Model \\"api\\" Version: 2\.0 registered with 1 initial workers"



=== TEST 2: after a restart, the registration is back and serves
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_state $TEST_NGINX_STATE_DIR/state.json;
--- request eval
[
"GET /models/api",
"POST /predictions/api\n$::S0",
]
--- error_code eval
[200, 200]
--- response_body_like eval
[
qr/"modelName": "api",\n    "modelVersion": "2\.0",\n    "modelUrl": "digits_v2\.mar",(?s:.*)"loadedAtStartup": false/,
qr/^\[\n  0\.979980/,
]



=== TEST 3: a corrupt state file is refused and kept aside
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_state $TEST_NGINX_STATE_DIR/bad.json;
--- request
GET /models
--- response_body
{
  "models": [
    {
      "modelName": "digits",
      "modelUrl": "digits.mar"
    }
  ]
}
--- error_log eval
qr/torchserve_state "\S+bad\.json" is refused: invalid JSON at line 1, column \d+: .*; starting without it, the file is kept as "\S+bad\.json\.corrupt"/
--- no_error_log
[crit]



=== TEST 4: a state file with a number out of range is refused whole
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_state $TEST_NGINX_STATE_DIR/range.json;
--- request
GET /models/big
--- error_code: 404
--- response_body_like: "message": "Model not found: big"
--- error_log eval
qr/torchserve_state "\S+range\.json" is refused: model "big" version "1\.0": "batchSize" is out of range; starting without it/



=== TEST 5: a state file giving one name two default versions is refused whole
--- http_config
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_state $TEST_NGINX_STATE_DIR/defaults.json;
--- request
GET /models/twice
--- error_code: 404
--- response_body_like: "message": "Model not found: twice"
--- error_log eval
qr/torchserve_state "\S+defaults\.json" is refused: model "twice" has two default versions, "1\.0" and "2\.0"; starting without it/



=== TEST 6: a state file with more models than the zone holds is refused before anything is allocated for them
--- http_config
    torchserve_zone torchserve:1m;
    torchserve_model_store $TEST_NGINX_FIXTURES;
    torchserve_model digits digits.mar;
    torchserve_state $TEST_NGINX_STATE_DIR/many.json;
--- request
GET /models
--- error_code: 200
--- response_body_like: "modelName": "digits"
--- error_log eval
qr/torchserve_state "\S+many\.json" is refused: 200 models, more than the zone \(torchserve_zone\) can hold \(\d+\); starting without it/
