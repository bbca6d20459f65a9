#!/bin/bash
# bench/faults.sh: faults under load (issue #16). Bounded, loopback only.
#
#   bench/faults.sh                 # ~5 minutes on 2 cores: 60 s of faults,
#                                   # then 200,000 requests per handler kind
#   QUICK=1 bench/faults.sh         # ~1 minute: 15 s of faults, 5,000 requests
#   PY_MODEL=mnist REQUESTS=20000 bench/faults.sh   # the MNIST tutorial's
#                                   # handler (a PNG body, ~300-1000 req/s)
#
# Its own nginx (/usr/sbin/nginx, the module build/ngx_http_torchserve_module.so)
# in a temporary prefix, worker_processes 2, a thread pool of 2, on
# 127.0.0.1:$PORT (inference), $PORT+1 (management), $PORT+2 (metrics),
# default 18910-18912. Two models loaded from nginx.conf: digits (TorchScript,
# the C tensor handler) and $PY_MODEL (a Python handler: greedy_time by
# default, a BaseHandler subclass with torch, numpy and scipy).
#
# 1. Start, warm up (WARM requests to each model), measure: the worker
#    processes' and the master's fd count and USS, the shared zone's free
#    pages (read from the master's memory: root only), the registry.
# 2. Faults, DURATION seconds (60): wrk at 64 connections (32 per model,
#    bench/faults.lua counting the answers by status), while
#    - nginx -s reload every 3 s and SIGKILL of one worker process every
#      10 s (from 5.5 s on: a serving one, else one still loading its
#      models), the connections of each victim counted
#      (faults_clients.py chaos);
#    - a probe on 4 keep-alive connections, each failure with the worker
#      process that served the connection's last request (every server adds
#      X-Worker-Pid), so that each can be attributed to a kill or to a
#      reload closing an idle keep-alive connection (probe);
#    - register / scale 0 / scale 1 / unregister of a third model (digits_v2.mar
#      as "third") in a loop, a prediction after each step (200, 503, 200,
#      404 expected), and every third turn a registration that fails: a
#      garbage archive (400) or a TorchScript file that passes the checks and
#      fails to load (500), each a JSON error, the name never left listed
#      (cycle);
#    - slow clients: headers and half the body, or half the headers, then a
#      stall: nginx must close them after client_body_timeout /
#      client_header_timeout (5 s), while a normal request is served (slow);
#    - bodies above client_max_body_size (1m), by Content-Length and chunked:
#      413 (oversized);
#    - GARBAGE (1000) random and malformed requests to the inference port,
#      then /ping and each model checked (garbage).
# 3. After the load: wait until 2 worker processes serve, every model loaded;
#    /ping and the models; the registry asked of every process (list,
#    describe, the state file agree, the third model and the failed ones
#    gone); the zone's free pages against step 1; the new worker processes
#    warmed up as in step 1 and compared with step 1's (fd count, USS within
#    LIMIT_MB, 5), the master too; folders left in the temp path.
# 4. Memory over time: no faults, the same worker processes throughout:
#    WARMUP requests, then REQUESTS (200000) in 10 steps, to each handler
#    kind in turn: digits (tensor), vision_cls (the C image classifier, a
#    JPEG body; loaded from nginx.conf but left out of the faults' load),
#    $PY_MODEL (Python); USS and fds of each worker process after each
#    step; growth after the warm-up <= LIMIT_MB.
#
# Output: the summary (markdown) on stdout and in $RESULTS/summary.md
# (default bench/results/faults/, ignored by git), every figure as JSON
# beside it, the error log; exit status 1 when a check failed, 2 when the
# run could not start. KEEP=1 keeps the nginx prefix (its path is printed).
#
# Environment: MODULE, FIXTURES, NGINX, PYTHON (/usr/bin/python3), PORT,
# DURATION, REQUESTS, WARMUP, WARM, GARBAGE, RELOAD_EVERY (3), KILL_EVERY (10),
# PY_MODEL (greedy_time, mnist),
# RESULTS, SEED, LIMIT_MB, KEEP, QUICK.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
MODULE=${MODULE:-$ROOT/build/ngx_http_torchserve_module.so}
FIXTURES=${FIXTURES:-$ROOT/build/fixtures}
NGINX=${NGINX:-/usr/sbin/nginx}
PY=${PYTHON:-/usr/bin/python3}
PORT=${PORT:-18910}
MGMT=$((PORT + 1))
METRICS=$((PORT + 2))
if [ "${QUICK:-0}" = 1 ]; then
    DURATION=${DURATION:-15}
    REQUESTS=${REQUESTS:-5000}
    WARMUP=${WARMUP:-1000}
    GARBAGE=${GARBAGE:-300}
else
    DURATION=${DURATION:-60}
    REQUESTS=${REQUESTS:-200000}
    WARMUP=${WARMUP:-20000}
    GARBAGE=${GARBAGE:-1000}
fi
WARM=${WARM:-3000}
RELOAD_EVERY=${RELOAD_EVERY:-3}
KILL_EVERY=${KILL_EVERY:-10}
PY_MODEL=${PY_MODEL:-greedy_time}
RESULTS=${RESULTS:-$HERE/results/faults}
SEED=${SEED:-16}
LIMIT_MB=${LIMIT_MB:-5}
KEEP=${KEEP:-0}
CLIENTS="$PY $HERE/faults_clients.py"
CHECK="$PY $HERE/faults_check.py"
LUA=$HERE/faults.lua
BOUND=$((DURATION + 120))   # no background job outlives this

case $PY_MODEL in
    greedy_time) PY_BODY=$FIXTURES/greedy_time.json PY_CTYPE=application/json ;;
    mnist) PY_BODY=$FIXTURES/mnist_digit.png PY_CTYPE=image/png ;;
    *) echo "PY_MODEL: greedy_time or mnist" >&2; exit 2 ;;
esac
DIGITS_BODY=$FIXTURES/digits_input.json
IMG_MODEL=vision_cls
IMG_BODY=$FIXTURES/vision/kitten.jpg

log() { printf '[faults %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 2; }

for f in "$MODULE" "$NGINX" "$PY" "$DIGITS_BODY" "$PY_BODY" "$IMG_BODY" \
         "$FIXTURES/digits.mar" "$FIXTURES/digits_v2.mar" \
         "$FIXTURES/$PY_MODEL.mar" "$FIXTURES/$IMG_MODEL.mar"; do
    [ -e "$f" ] || die "missing $f (make all fixtures)"
done
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
for p in $PORT $MGMT $METRICS; do
    if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
        die "127.0.0.1:$p is in use (PORT= chooses other ports)"
    fi
done

LOAD0=$(cut -d' ' -f1 /proc/loadavg)
P=$(mktemp -d /tmp/ts-faults.XXXXXX) || die "mktemp failed"
chmod 755 "$P"
mkdir -p "$P/logs" "$P/store" "$P/tmp" "$P/state" "$P/temp" "$RESULTS"
rm -f "$RESULTS"/*.json "$RESULTS"/*.txt "$RESULTS"/summary.md \
      "$RESULTS"/error.log
JOBS=()

stop_nginx() {
    local master
    master=$(cat "$P/logs/nginx.pid" 2>/dev/null) || return 0
    [ -n "$master" ] && kill -0 "$master" 2>/dev/null || return 0
    "$NGINX" -p "$P" -c nginx.conf -s stop 2>/dev/null
    for _ in $(seq 100); do
        kill -0 "$master" 2>/dev/null || return 0
        sleep 0.2
    done
    log "nginx did not stop in 20 s: SIGKILL to its processes"
    for pid in $(ps -o pid= --ppid "$master"); do kill -9 "$pid" 2>/dev/null; done
    kill -9 "$master" 2>/dev/null
}

cleanup() {
    local rc=$?
    for j in "${JOBS[@]}"; do kill "$j" 2>/dev/null; done
    stop_nginx
    if [ "$KEEP" = 1 ]; then
        log "kept the prefix $P"
    else
        rm -rf "$P"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the store: the two models, the third, the two that must fail
cp "$FIXTURES/digits.mar" "$FIXTURES/digits_v2.mar" "$FIXTURES/$PY_MODEL.mar" \
   "$FIXTURES/$IMG_MODEL.mar" "$P/store/"
$CLIENTS make-archives "$P/store" --digits "$FIXTURES/digits.mar" \
    --seed "$SEED" || die "make-archives failed"
if [ "$(id -u)" = 0 ]; then
    # the worker processes run as nobody: the state and temp folders are theirs
    chown nobody:nogroup "$P/tmp" "$P/state" "$P/temp"
fi

cat > "$P/nginx.conf" <<EOF
load_module $MODULE;

worker_processes 2;
error_log logs/error.log notice;
pid logs/nginx.pid;
thread_pool torchserve threads=2 max_queue=65536;

events {
    worker_connections 4096;
}

http {
    log_format faults '\$msec \$pid \$server_port \$status \$request_length '
                      '\$bytes_sent \$request_time "\$request"';
    access_log logs/access.log faults;

    # nginx's own temporary files (chunked bodies above the buffer) in the
    # prefix: the compiled-in /var/lib/nginx/* belong to the system
    client_body_temp_path $P/temp/body;
    proxy_temp_path $P/temp/proxy;
    fastcgi_temp_path $P/temp/fastcgi;
    uwsgi_temp_path $P/temp/uwsgi;
    scgi_temp_path $P/temp/scgi;

    client_max_body_size 1m;
    client_body_timeout 5s;
    client_header_timeout 5s;
    add_header X-Worker-Pid \$pid always;

    torchserve_model_store $P/store;
    torchserve_thread_pool torchserve;
    torchserve_temp_path $P/tmp;
    torchserve_state $P/state/registry.json;
    torchserve_model digits digits.mar workers=2;
    torchserve_model $PY_MODEL $PY_MODEL.mar workers=2;
    torchserve_model $IMG_MODEL $IMG_MODEL.mar workers=2;

    server {
        listen 127.0.0.1:$PORT;
        location / { torchserve_inference; }
    }
    server {
        listen 127.0.0.1:$MGMT;
        location / { torchserve_management; }
    }
    server {
        listen 127.0.0.1:$METRICS;
        location / { torchserve_metrics; }
    }
}
EOF
cp "$P/nginx.conf" "$RESULTS/nginx.conf.txt"

"$NGINX" -p "$P" -c nginx.conf -t 2>"$P/t.log" || { cat "$P/t.log" >&2; die "nginx -t failed"; }
"$NGINX" -p "$P" -c nginx.conf || die "nginx did not start"
log "nginx started in $P"

settle() {    # $1: the JSON file to write, or empty
    local ws
    if ws=$(timeout 100 $CHECK settle --prefix "$P" --mgmt "$MGMT" \
              --models digits "$PY_MODEL" "$IMG_MODEL" --timeout 90); then
        [ -n "$1" ] && printf '{"ok": true, "workers": [%s]}\n' \
            "$(echo $ws | tr ' ' ',')" > "$1"
        return 0
    fi
    [ -n "$1" ] && printf '{"ok": false, "workers": []}\n' > "$1"
    return 1
}

wrk_count() {   # $1 model path, $2 body, $3 content type, $4 requests
    timeout 300 $CLIENTS wrk --port "$PORT" --path "$1" --body "$2" \
        --ctype "$3" --lua "$LUA" --requests "$4" --max-seconds 240
}

warm() {
    wrk_count /predictions/digits "$DIGITS_BODY" application/json "$WARM" >/dev/null
    wrk_count "/predictions/$PY_MODEL" "$PY_BODY" "$PY_CTYPE" "$WARM" >/dev/null
    wrk_count "/predictions/$IMG_MODEL" "$IMG_BODY" image/jpeg "$WARM" >/dev/null
}

health() {      # $1 the JSON file
    timeout 120 $CHECK health --inf "$PORT" --metrics "$METRICS" \
        --predict "digits:$DIGITS_BODY:application/json" \
        "$PY_MODEL:$PY_BODY:$PY_CTYPE" "$IMG_MODEL:$IMG_BODY:image/jpeg" \
        --out "$1"
}

registry() {    # $1 the JSON file
    timeout 120 $CHECK registry --prefix "$P" --mgmt "$MGMT" \
        --expect digits "$PY_MODEL" "$IMG_MODEL" --absent third garbage badload \
        --state "$P/state/registry.json" --out "$1"
}

snapshot() {    # $1 the JSON file
    $CHECK snapshot --prefix "$P" --tmp "$P/tmp" --metrics "$METRICS" \
        --out "$1"
}

settle "" || die "the worker processes did not load their models"

# ---------------------------------------------------------------- 1. start
log "warm-up: $WARM requests to each model"
warm
snapshot "$RESULTS/start.json"
registry "$RESULTS/registry_start.json"
health "$RESULTS/health_start.json" || log "health at start failed"

# ---------------------------------------------------------------- 2. faults
log "faults: $DURATION s of load with reloads, kills, the registry loop, " \
    "slow clients, oversized bodies, $GARBAGE garbage requests"
T_FAULTS=$(date +%s.%N)
bg() { "$@" & JOBS+=($!); }
bg env BODY="$DIGITS_BODY" CTYPE=application/json timeout -k 5 $BOUND \
    wrk -t2 -c32 -d${DURATION}s --timeout 20s -s "$LUA" \
    "http://127.0.0.1:$PORT/predictions/digits" > "$RESULTS/wrk_digits.txt"
bg env BODY="$PY_BODY" CTYPE="$PY_CTYPE" timeout -k 5 $BOUND \
    wrk -t2 -c32 -d${DURATION}s --timeout 20s -s "$LUA" \
    "http://127.0.0.1:$PORT/predictions/$PY_MODEL" > "$RESULTS/wrk_$PY_MODEL.txt"
bg timeout -k 5 $BOUND $CLIENTS probe --port "$PORT" --path /predictions/digits \
    --body "$DIGITS_BODY" --duration "$DURATION" --conns 4 \
    --out "$RESULTS/probe.json"
bg timeout -k 5 $BOUND $CLIENTS chaos --nginx "$NGINX" --prefix "$P" \
    --conf nginx.conf --duration "$DURATION" --reload-every "$RELOAD_EVERY" \
    --kill-every "$KILL_EVERY" \
    --kill-offset 5.5 --ports "$PORT" "$MGMT" "$METRICS" --seed "$SEED" \
    --out "$RESULTS/chaos.json"
bg timeout -k 5 $BOUND $CLIENTS cycle --mgmt "$MGMT" --inf "$PORT" \
    --url digits_v2.mar --name third --body "$DIGITS_BODY" \
    --duration "$DURATION" --fail-every 3 --out "$RESULTS/cycle.json"
ROUNDS=$(( DURATION >= 45 ? 3 : 1 ))
bg timeout -k 5 $BOUND $CLIENTS slow --port "$PORT" --path /predictions/digits \
    --body "$DIGITS_BODY" --clients 6 --rounds $ROUNDS \
    --every $(( (DURATION - 10) / 3 )) --expect 5 --out "$RESULTS/slow.json"
bg timeout -k 5 $BOUND $CLIENTS oversized --port "$PORT" \
    --paths /predictions/digits "/predictions/$PY_MODEL" /v2/models/digits/infer \
    --count 40 --duration "$DURATION" --out "$RESULTS/oversized.json"
bg bash -c "sleep 2; timeout -k 5 $BOUND $CLIENTS garbage --port $PORT \
    --count $GARBAGE --seed $SEED --bodies '$DIGITS_BODY' '$PY_BODY' \
    --py-path /predictions/$PY_MODEL --out '$RESULTS/garbage.json'; \
    $CHECK health --inf $PORT --metrics $METRICS \
        --predict 'digits:$DIGITS_BODY:application/json' \
        '$PY_MODEL:$PY_BODY:$PY_CTYPE' --out '$RESULTS/health_garbage.json'"
for j in "${JOBS[@]}"; do wait "$j"; done
JOBS=()
T_FAULTS_END=$(date +%s.%N)

# ---------------------------------------------------------------- 3. after
log "after the load: settle, health, registry, zone, memory"
settle "$RESULTS/settled.json" || log "the worker processes did not settle"
health "$RESULTS/health_end.json" || log "health after the load failed"
registry "$RESULTS/registry_end.json" || log "the registry is inconsistent"
snapshot "$RESULTS/end.json"
warm
snapshot "$RESULTS/end_warm.json"

# ---------------------------------------------------------------- 4. memory
for m in digits "$IMG_MODEL" "$PY_MODEL"; do
    case $m in
        digits) body=$DIGITS_BODY ctype=application/json ;;
        "$IMG_MODEL") body=$IMG_BODY ctype=image/jpeg ;;
        *) body=$PY_BODY ctype=$PY_CTYPE ;;
    esac
    log "memory over time: $m, $WARMUP + $REQUESTS requests"
    timeout -k 5 1500 $CLIENTS memphase --prefix "$P" --port "$PORT" --model "$m" \
        --path "/predictions/$m" --body "$body" --ctype "$ctype" --lua "$LUA" \
        --requests "$REQUESTS" --warmup "$WARMUP" --steps 10 --max-seconds 600 \
        --out "$RESULTS/mem_$m.json" || log "memphase $m failed"
done

# ---------------------------------------------------------------- report
cp "$P/logs/error.log" "$RESULTS/error.log"
cp "$P/state/registry.json" "$RESULTS/state_registry.json" 2>/dev/null
$PY - "$RESULTS/params.json" <<EOF
import json, os, sys
json.dump({
    "date": os.popen("date -u '+%Y-%m-%d %H:%M UTC'").read().strip(),
    "machine": "%s, %d cores, 1-minute load %s at the start, %s at the end"
               % (os.uname().machine, os.cpu_count(), "$LOAD0",
                  open("/proc/loadavg").read().split()[0]),
    "duration": $DURATION, "requests": $REQUESTS, "warmup": $WARMUP,
    "models": ["digits", "$PY_MODEL"], "py_models": 1,
    "mem_models": ["digits", "$IMG_MODEL", "$PY_MODEL"],
    "third": "digits_v2.mar as third", "probe_conns": 4,
    "ports": {"$PORT": "inference", "$MGMT": "management",
              "$METRICS": "metrics"},
    "t_faults": $T_FAULTS, "t_faults_end": $T_FAULTS_END,
    "access_log": "$P/logs/access.log"}, open(sys.argv[1], "w"), indent=1)
EOF
$CHECK report --dir "$RESULTS" --limit-mb "$LIMIT_MB"
