#!/bin/bash
# bench/run.sh: the benchmark of issue 6, in one run, on 127.0.0.1 only
# (ports 18500-18599), with wrk. Compares, per model (tiny, resnet18):
#   floor          in-process libtorch, bench/floor.cpp (one thread per core)
#   floor_b8       the same on batches of 8 (instances/s): what batching can
#                  give at most
#   return200      the same nginx binary, `return 200` (worker_processes 2)
#   ts_wpW_tpT     this module: worker_processes W, thread pool T threads,
#                  torchserve_model ... workers=2T
#   ts_wpW_tpT_b8  the same with batch_size=8 max_batch_delay=5ms
#   flask          Flask + torch, gunicorn, 2 sync workers
#   fastapi        FastAPI + torch, uvicorn, 2 workers, uvloop + httptools
# Every server is started once and checked to give Python's answer, then
# ROUNDS interleaved rounds of DURATION seconds each run every server,
# model and connection count; the table shows medians [min-max].
#
#   bench/run.sh            (make all fixtures first; see bench/README)
# env: ROUNDS=3 DURATION=4 CONNS="32 2" LOAD_MAX=1.0 LOAD_WAIT=600
#      DURATION_<model>=S (e.g. DURATION_resnet18=15: more requests per run
#      for a slow model), RESULTS=DIR (default bench/results),
#      ONLY=REGEX (only the servers whose name matches, e.g. 'tp2|flask')
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$BENCH")
RES=${RESULTS:-$BENCH/results}
TMP=$RES/tmp
MODELS=$BENCH/models
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$TOP/build/ngx_http_torchserve_module.so}
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4}
CONNS=${CONNS:-"32 2"}
LOAD_MAX=${LOAD_MAX:-1.0}
LOAD_WAIT=${LOAD_WAIT:-600}
WRK_TIMEOUT=${WRK_TIMEOUT:-20s}
NCPU=$(nproc)

PIDS=()
declare -A STOPSIG
cleanup() {
    # nginx: QUIT (graceful); on TERM its master SIGKILLs workers that take
    # more than about a second to exit, which a busy machine makes likely
    local p
    for p in "${PIDS[@]}"; do kill -"${STOPSIG[$p]:-TERM}" "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT INT TERM

[ -x "$MODULE" ] || [ -f "$MODULE" ] || { echo "run.sh: $MODULE missing: make all" >&2; exit 1; }
rm -rf "$TMP"; mkdir -p "$TMP" "$RES"

# --- models and the floor --------------------------------------------------
if [ ! -f "$MODELS/models.txt" ] || [ "$BENCH/make_models.py" -nt "$MODELS/models.txt" ]; then
    $PY "$BENCH/make_models.py" "$MODELS"
fi
mapfile -t MODEL_LINES < "$MODELS/models.txt"
if [ ! -x "$RES/floor" ] || [ "$BENCH/floor.cpp" -nt "$RES/floor" ]; then
    g++ -std=c++17 -O2 -I/usr/include/torch/csrc/api/include "$BENCH/floor.cpp" \
        -o "$RES/floor" -ltorch -ltorch_cpu -lc10 -lpthread
fi

# --- servers ----------------------------------------------------------------
# name port pid, in start order
declare -A PORT PID
SERVERS=()

wait_port() {   # port pid
    for _ in $(seq 600); do
        kill -0 "$2" 2>/dev/null || { echo "run.sh: server on $1 died" >&2; return 1; }
        if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "run.sh: nothing listens on $1" >&2; return 1
}

nginx_conf() {  # prefix port workers threads(0 = return 200) [batch params]
    local prefix=$1 port=$2 wp=$3 tp=$4 batch=${5:-}
    mkdir -p "$prefix"/{logs,tmp,state}
    {
        [ "$tp" -gt 0 ] && echo "load_module $MODULE;"
        cat <<CONF
worker_processes $wp;
error_log logs/error.log warn;
pid logs/nginx.pid;
CONF
        [ "$tp" -gt 0 ] && echo "thread_pool torchserve threads=$tp max_queue=65536;"
        cat <<CONF
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_max_body_size 16m;
    client_body_buffer_size 4m;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
CONF
        if [ "$tp" -gt 0 ]; then
            echo "    torchserve_model_store $MODELS;"
            echo "    torchserve_thread_pool torchserve;"
            echo "    torchserve_zone torchserve:16m;"
            echo "    torchserve_state state/registry.json;"
            local l
            for l in "${MODEL_LINES[@]}"; do
                set -- $l
                # two batches per pool thread in flight: the next one is
                # queued when a thread finishes (+6-8% over workers=T)
                echo "    torchserve_model $1 $1.mar workers=$((2 * tp)) input_shape=$2${batch:+ $batch};"
            done
            echo "    server { listen 127.0.0.1:$port; location / { torchserve_inference; } }"
        else
            echo "    server { listen 127.0.0.1:$port; location / { return 200 \"ok\\n\"; } }"
        fi
        echo "}"
    } > "$prefix/nginx.conf"
}

wanted() {  # name -> true when ONLY (if set) matches it
    [ -z "${ONLY:-}" ] || [[ $1 =~ $ONLY ]]
}

start_nginx() {  # name port workers threads [batch params]
    wanted "$1" || return 0
    local prefix=$TMP/$1
    nginx_conf "$prefix" "$2" "$3" "$4" "${5:-}"
    "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
        -g "daemon off;" >"$prefix/logs/stdout" 2>&1 &
    STOPSIG[$!]=QUIT; PIDS+=($!); PID[$1]=$!; PORT[$1]=$2; SERVERS+=("$1")
}

start_py() {  # name port command...
    local name=$1 port=$2; shift 2
    wanted "$name" || return 0
    mkdir -p "$TMP/$name"
    # glibc tuned as the module's workers and the floor are
    (cd "$BENCH" && BENCH_MODELS=$MODELS MALLOC_MMAP_THRESHOLD_=33554432 \
        MALLOC_TRIM_THRESHOLD_=67108864 MALLOC_TOP_PAD_=67108864 exec "$@") >"$TMP/$name/log" 2>&1 &
    PIDS+=($!); PID[$name]=$!; PORT[$name]=$port; SERVERS+=("$name")
}

start_nginx return200 18501 2 0
port=18510
for wp in 1 2; do
    for tp in 1 2 4; do
        start_nginx "ts_wp${wp}_tp${tp}" $port $wp $tp
        start_nginx "ts_wp${wp}_tp${tp}_b8" $((port + 20)) $wp $tp \
            "batch_size=8 max_batch_delay=5ms"
        port=$((port + 1))
    done
done
if command -v gunicorn >/dev/null && $PY -c 'import flask' 2>/dev/null; then
    start_py flask 18520 gunicorn --workers 2 --worker-class sync \
        --bind 127.0.0.1:18520 --timeout 120 py_flask:app
else
    echo "run.sh: no gunicorn/flask: skipping flask" >&2
fi
if command -v uvicorn >/dev/null && $PY -c 'import fastapi, uvloop, httptools' 2>/dev/null; then
    start_py fastapi 18521 uvicorn --workers 2 --loop uvloop --http httptools \
        --host 127.0.0.1 --port 18521 --no-access-log --log-level warning py_fastapi:app
else
    echo "run.sh: no uvicorn/fastapi/uvloop/httptools: skipping fastapi" >&2
fi

for s in "${SERVERS[@]}"; do wait_port "${PORT[$s]}" "${PID[$s]}"; done

# every server gives Python's answer (return200 excepted), before any load
for s in "${SERVERS[@]}"; do
    [ "$s" = return200 ] && continue
    for l in "${MODEL_LINES[@]}"; do
        set -- $l
        ok=0
        for _ in $(seq 60); do   # worker processes load models after listening
            if $PY "$BENCH/check.py" "http://127.0.0.1:${PORT[$s]}/predictions/$1" \
                   "$MODELS/$1_input.json" "$MODELS/$1_expected.json" >"$TMP/check.out" 2>&1
            then ok=1; break; fi
            sleep 0.5
        done
        echo "[$s] $(cat "$TMP/check.out")"
        [ $ok = 1 ] || { echo "run.sh: $s gives a wrong answer for $1" >&2; exit 1; }
    done
done

# private memory (USS = Private_* of smaps_rollup) of each worker process, MB,
# after the checks (models loaded and warm); measured again after the load
uss_of() {  # pid -> MB
    awk '/^Private_(Clean|Dirty|Hugetlb):/ { kb += $2 } END { printf "%.0f", kb / 1024 }' \
        "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}
workers_of() {  # master pid -> worker pids (direct children)
    local kids
    kids=$(cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$' || true)
    local k
    for k in $kids; do
        # uvicorn's multiprocessing helpers (resource tracker) are not workers
        if tr '\0' ' ' < /proc/"$k"/cmdline 2>/dev/null | grep -q 'resource_tracker'; then continue; fi
        echo "$k"
    done
}
memory() {   # -> lines "server uss_mb_per_worker_list"
    local s w list
    for s in "${SERVERS[@]}"; do
        list=""
        for w in $(workers_of "${PID[$s]}"); do list="$list$(uss_of "$w"),"; done
        echo "$s ${list%,}"
    done
}

# --- the load must be low before we measure ----------------------------------
load1() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load1)" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }'; do
    if [ $waited -ge "$LOAD_WAIT" ]; then
        echo "run.sh: load $(load1) still >= $LOAD_MAX after ${waited}s: measuring anyway" >&2
        break
    fi
    [ $((waited % 30)) = 0 ] && echo "run.sh: waiting for the 1-minute load ($(load1)) to fall under $LOAD_MAX"
    sleep 5; waited=$((waited + 5))
done
LOAD_START=$(cat /proc/loadavg)
T_START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
echo "run.sh: measuring; load: $LOAD_START"

RAW=$RES/raw.tsv
printf 'round\tserver\tmodel\tconns\trps\tp50_ms\tp99_ms\terrors\tload1\n' > "$RAW"

dur() {  # model -> seconds per run
    local v="DURATION_$1"
    echo "${!v:-$DURATION}"
}

run_wrk() {  # round server model conns
    local r=$1 s=$2 m=$3 c=$4 t=2 out d
    d=$(dur "$m")
    [ "$c" -lt 2 ] && t=1
    out=$(BODY=$MODELS/${m}_input.json wrk -t$t -c"$c" -d"${d}s" --timeout "$WRK_TIMEOUT" \
          -s "$BENCH/post.lua" "http://127.0.0.1:${PORT[$s]}/predictions/$m" 2>&1 | grep '^RESULT' || true)
    if [ -z "$out" ]; then echo "run.sh: wrk failed on $s $m c=$c" >&2; return; fi
    # RESULT requests=N seconds=S rps=R p50_ms=A p99_ms=B errors=E
    eval "local ${out#RESULT }"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$m" "$c" "$rps" "$p50_ms" "$p99_ms" "$errors" "$(load1)" >> "$RAW"
    printf '  %-12s %-9s c=%-3s %9s req/s  p50 %8s ms  p99 %8s ms  errors %s\n' "$s" "$m" "$c" "$rps" "$p50_ms" "$p99_ms" "$errors"
}

# warm-up, not recorded: every server and model, 1 s at 2 connections
echo "warm-up"
for l in "${MODEL_LINES[@]}"; do
    set -- $l
    for s in "${SERVERS[@]}"; do
        BODY=$MODELS/${1}_input.json wrk -t1 -c2 -d1s --timeout "$WRK_TIMEOUT" -s "$BENCH/post.lua" \
            "http://127.0.0.1:${PORT[$s]}/predictions/$1" >/dev/null 2>&1 || true
    done
done

for r in $(seq "$ROUNDS"); do
    echo "round $r/$ROUNDS"
    for l in "${MODEL_LINES[@]}"; do
        set -- $l
        m=$1 shape=$2
        out=$("$RES/floor" "$MODELS/$m.pt" "$shape" "$(dur "$m")" "$NCPU")
        rps=$(sed 's/.*rps=\([^ ]*\).*/\1/' <<<"$out")
        p50=$(sed 's/.*p50_ms=\([^ ]*\).*/\1/' <<<"$out")
        p99=$(sed 's/.*p99_ms=\([^ ]*\).*/\1/' <<<"$out")
        printf '%s\tfloor\t%s\t%s\t%s\t%s\t%s\t0\t%s\n' "$r" "$m" "$NCPU" "$rps" "$p50" "$p99" "$(load1)" >> "$RAW"
        printf '  %-12s %-9s t=%-3s %9s calls/s p50 %8s ms  p99 %8s ms\n' floor "$m" "$NCPU" "$rps" "$p50" "$p99"
        out=$("$RES/floor" "$MODELS/$m.pt" "$shape" "$(dur "$m")" "$NCPU" 8)
        rps=$(sed 's/.*rps=\([^ ]*\).*/\1/' <<<"$out")
        p50=$(sed 's/.*p50_ms=\([^ ]*\).*/\1/' <<<"$out")
        p99=$(sed 's/.*p99_ms=\([^ ]*\).*/\1/' <<<"$out")
        printf '%s\tfloor_b8\t%s\t%s\t%s\t%s\t%s\t0\t%s\n' "$r" "$m" "$NCPU" "$rps" "$p50" "$p99" "$(load1)" >> "$RAW"
        printf '  %-12s %-9s t=%-3s %9s inst/s  p50 %8s ms  p99 %8s ms (per batch of 8)\n' floor_b8 "$m" "$NCPU" "$rps" "$p50" "$p99"
        for s in "${SERVERS[@]}"; do
            for c in $CONNS; do run_wrk "$r" "$s" "$m" "$c"; done
        done
    done
done

LOAD_END=$(cat /proc/loadavg)
T_END=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
memory > "$RES/memory.txt"

# every server still answers right after the load
for s in "${SERVERS[@]}"; do
    [ "$s" = return200 ] && continue
    for l in "${MODEL_LINES[@]}"; do
        set -- $l
        $PY "$BENCH/check.py" "http://127.0.0.1:${PORT[$s]}/predictions/$1" \
            "$MODELS/$1_input.json" "$MODELS/$1_expected.json" >/dev/null \
            || echo "run.sh: $s answers $1 wrongly after the load" >&2
    done
done
cleanup

{
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $NCPU"
    echo "kernel: $(uname -sr); nginx: $("$NGINX" -v 2>&1 | cut -d/ -f2); torch: $($PY -c 'import torch; print(torch.__version__)' 2>/dev/null)"
    echo "start: $T_START, load $LOAD_START"
    echo "end: $T_END, load $LOAD_END"
    echo "rounds: $ROUNDS x ${DURATION}s (resnet18: $(dur resnet18)s), connections: $CONNS, wrk -t2 (-t1 at c=1), on the same cores"
} > "$RES/machine.txt"

$PY "$BENCH/report.py" "$RES"
