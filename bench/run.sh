#!/bin/bash
# bench/run.sh: the benchmark of issue 6, in one run, on 127.0.0.1 only
# (ports 18500-18599), with wrk. Compares, per model (tiny, resnet18):
#   floor          in-process libtorch, bench/floor.cpp (one thread per core)
#   floor_b8       the same on batches of 8 (instances/s): what batching can
#                  give at most
#   return200      the same nginx binary, `return 200` (worker_processes 2)
#   ts_wpW_tpT     this module: worker_processes W, thread pool T threads,
#                  torchserve_model ... workers=2T (the _b8 ones: T)
#   ts_wpW_tpT_b8  the same with batch_size=8 max_batch_delay=5ms (the
#                  default batch_policy, adaptive: a batch leaves whenever
#                  a workers slot is free)
#   ts_wpW_tp2_b8d the same with batch_policy=delay (TorchServe's: a batch
#                  waits up to 5 ms for 8 requests)
#   (resnet18_v2json, resnet18_v2bin: resnet18 through KServe v2's
#                  /v2/models/resnet18/infer, its tensor as JSON data or as
#                  binary data (bench/v2_bodies.py), the ts_ servers only,
#                  against resnet18's floor)
#   flask          Flask + torch, gunicorn, 2 sync workers
#   fastapi        FastAPI + torch, uvicorn, 2 workers, uvloop + httptools
# and, on a Python handler (model pymnist: the MNIST tutorial's handler,
# build/fixtures/mnist.mar, a PNG body):
#   floor          the Python floor, bench/pyfloor.py: handle() through
#                  ts._embed in a loop, one python3 process per core
#                  (floor_so, in the log only: the same in an interpreter
#                  linked to libpython3.11.so, which the module embeds)
#   pyts_wpW_tpT   this module: worker_processes W (= cores), thread pool T
#                  threads, torchserve_model mnist mnist.mar workers=2T
#   pyts_wpW_tpT_rp  the same with listen ... reuseport
#   pyts_wpW_tpT_nho the same as pyts_wpW_tpT with torchserve_handoff off
#                  (each process runs the predictions it accepted)
#   pyflask        Flask + ts._embed, gunicorn, 2 sync workers
#   pyfastapi      FastAPI + ts._embed, uvicorn, 2 workers
# and, on the C image_classifier (model resnet18_vision: resnet18.pt behind
# --handler image_classifier, a 640x480 JPEG body; ports 18700-18799):
#   floor          floor_fwd (floor.cpp on [1,3,224,224]) and floor_pre
#                  (build/bench/preprocess --threads: decode + transform of
#                  the body, one thread per core), per image added:
#                  1 / (1 / fwd rps + 1 / pre rps); floor_b8 the same with
#                  floor_fwd_b8
#   vis_wp2_tpT    this module: worker_processes 2, thread pool T threads,
#                  torchserve_model ... workers=2T; _b8 batch_size=8 (workers=T)
#                  max_batch_delay=5ms
#   visflask       Flask + Pillow + torchvision + torch, gunicorn, 2 sync
#                  workers, TorchServe's image_classifier (bench/pyvision.py)
# Every server is started once and checked to give Python's answer, then
# ROUNDS interleaved rounds of DURATION seconds each run every server,
# model and connection count; the table shows medians [min-max].
#
#   bench/run.sh            (make all fixtures first; see bench/README)
# env: ROUNDS=3 DURATION=4 CONNS="32 2" LOAD_MAX=1.0 LOAD_WAIT=600 SETTLE=1
#      (seconds between two runs)
#      DURATION_<model>=S (e.g. DURATION_resnet18=15: more requests per run
#      for a slow model), RESULTS=DIR (default bench/results),
#      ONLY_MODELS=REGEX (only the models whose name matches, e.g. '_v2');
#      ONLY=REGEX (only the servers whose name matches, e.g. 'tp2|flask';
#      '^py': only the Python handler, '^vis': only the vision group),
#      FIXTURES=DIR (build/fixtures),
#      PAIR_SERVERS=REGEX PAIR_MODELS=REGEX (default '^ts_wp[12]_tp2(_b8)?$'
#      and '^resnet18': these runs at the first connection count get a floor
#      run right before them, paired.tsv; empty: none)
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$BENCH")
RES=${RESULTS:-$BENCH/results}
TMP=$RES/tmp
MODELS=$BENCH/models
FIXTURES=${FIXTURES:-$TOP/build/fixtures}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$TOP/build/ngx_http_torchserve_module.so}
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4}
CONNS=${CONNS:-"32 2"}
LOAD_MAX=${LOAD_MAX:-1.0}
LOAD_WAIT=${LOAD_WAIT:-600}
WRK_TIMEOUT=${WRK_TIMEOUT:-20s}
SETTLE=${SETTLE:-1}
PAIR_SERVERS=${PAIR_SERVERS-'^ts_wp[12]_tp2(_b8)?$'}
PAIR_MODELS=${PAIR_MODELS-'^resnet18'}
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

wanted() {  # name -> true when ONLY (if set) matches it
    [ -z "${ONLY:-}" ] || [[ $1 =~ $ONLY ]]
}
any_wanted() {  # names... -> true when one of them is wanted
    local n
    for n in "$@"; do wanted "$n" && return 0; done
    return 1
}

# --- models and the floors ----------------------------------------------------
# per model: the name in the URL, the body and its content type, the
# answer every server must give and whether it is compared exactly (the
# Python handler's JSON text) or to 1e-4 (check.py)
MODEL_NAMES=()
declare -A SHAPE URLNAME BODYF CTYPE EXPECT EXACT PT
MODEL_LINES=()
TS_MODELS=""   # the TorchScript models (models.txt), served by the ts_ servers
TS_WP="1 2"; TS_TP="1 2 4"
TS_NAMES=(return200 flask fastapi)
for wp in $TS_WP; do for tp in $TS_TP; do TS_NAMES+=("ts_wp${wp}_tp${tp}" "ts_wp${wp}_tp${tp}_b8"); done; done
for wp in $TS_WP; do TS_NAMES+=("ts_wp${wp}_tp2_b8d"); done
# the C image_classifier on resnet18 (make_models.py's resnet18_vision.mar)
VIS_WP=2; VIS_TP="1 2 4"
VIS_NAMES=(visflask)
for tp in $VIS_TP; do VIS_NAMES+=("vis_wp${VIS_WP}_tp${tp}" "vis_wp${VIS_WP}_tp${tp}_b8"); done
PREPROCESS=$TOP/build/bench/preprocess
if any_wanted "${TS_NAMES[@]}" "${VIS_NAMES[@]}"; then
    stale=0
    for f in make_models.py pyvision.py vision_image.py; do
        [ "$BENCH/$f" -nt "$MODELS/models.txt" ] && stale=1
    done
    if [ ! -f "$MODELS/models.txt" ] || [ $stale = 1 ]; then
        $PY "$BENCH/make_models.py" "$MODELS"
    fi
    if any_wanted "${TS_NAMES[@]}"; then mapfile -t MODEL_LINES < "$MODELS/models.txt"; fi
    if [ ! -x "$RES/floor" ] || [ "$BENCH/floor.cpp" -nt "$RES/floor" ]; then
        g++ -std=c++17 -O2 -I/usr/include/torch/csrc/api/include "$BENCH/floor.cpp" \
            -o "$RES/floor" -ltorch -ltorch_cpu -lc10 -lpthread
    fi
fi
for l in "${MODEL_LINES[@]}"; do
    set -- $l
    MODEL_NAMES+=("$1"); TS_MODELS="${TS_MODELS:+$TS_MODELS }$1"; SHAPE[$1]=$2; URLNAME[$1]=$1
    BODYF[$1]=$MODELS/$1_input.json; CTYPE[$1]=application/json
    EXPECT[$1]=$MODELS/$1_expected.json; EXACT[$1]=0; PT[$1]=$1
done
# KServe v2 (#15): resnet18 through /v2/models/resnet18/infer, its tensor
# as JSON data (_v2json) and as binary data (_v2bin, the output binary
# too); the ts_ servers only, against resnet18's floor
declare -A URLPATH HDRLEN
TS_V2_MODELS=""
if [[ " $TS_MODELS " == *" resnet18 "* ]]; then
    $PY "$BENCH/v2_bodies.py" "$MODELS" || { echo "run.sh: v2_bodies.py failed" >&2; exit 1; }
    for m in resnet18_v2json resnet18_v2bin; do
        MODEL_NAMES+=("$m"); TS_V2_MODELS="$TS_V2_MODELS $m"; SHAPE[$m]=3,224,224
        URLNAME[$m]=resnet18; URLPATH[$m]=/v2/models/resnet18/infer; PT[$m]=resnet18
        EXPECT[$m]=$MODELS/resnet18_expected.json; EXACT[$m]=3
        eval "DURATION_$m=\${DURATION_resnet18:-}"
    done
    BODYF[resnet18_v2json]=$MODELS/resnet18_v2.json; CTYPE[resnet18_v2json]=application/json
    HDRLEN[resnet18_v2json]=0
    BODYF[resnet18_v2bin]=$MODELS/resnet18_v2.bin; CTYPE[resnet18_v2bin]=application/octet-stream
    HDRLEN[resnet18_v2bin]=$(cat "$MODELS/resnet18_v2.hdrlen")
fi
if any_wanted "${VIS_NAMES[@]}"; then
    if [ -f "$MODELS/resnet18_vision.mar" ]; then
        MODEL_NAMES+=(resnet18_vision); URLNAME[resnet18_vision]=resnet18_vision
        SHAPE[resnet18_vision]=3,224,224
        BODYF[resnet18_vision]=$MODELS/resnet18_vision_input.jpg; CTYPE[resnet18_vision]=image/jpeg
        EXPECT[resnet18_vision]=$MODELS/resnet18_vision_expected.json; EXACT[resnet18_vision]=2
        # the floor's preprocessing part (bench/preprocess.c)
        make --no-print-directory -C "$TOP" "$PREPROCESS" >"$TMP/preprocess.make" 2>&1 \
            || { cat "$TMP/preprocess.make" >&2; echo "run.sh: cannot build $PREPROCESS" >&2; exit 1; }
    else
        echo "run.sh: no $MODELS/resnet18_vision.mar (python3-torchvision?): skipping the vision group" >&2
    fi
fi

# the Python handler: the MNIST tutorial's, on the fixtures' archive
PY_TP="1 2"; PY_TP_RP="1 2"; PY_TP_NHO="1 2"
PY_NAMES=(pyflask pyfastapi)
for tp in $PY_TP; do PY_NAMES+=("pyts_wp${NCPU}_tp${tp}"); done
for tp in $PY_TP_RP; do PY_NAMES+=("pyts_wp${NCPU}_tp${tp}_rp"); done
for tp in $PY_TP_NHO; do PY_NAMES+=("pyts_wp${NCPU}_tp${tp}_nho"); done
if any_wanted "${PY_NAMES[@]}"; then
    if [ -f "$FIXTURES/mnist.mar" ] && [ -f "$FIXTURES/mnist_digit.png" ]; then
        MODEL_NAMES+=(pymnist); URLNAME[pymnist]=mnist
        BODYF[pymnist]=$FIXTURES/mnist_digit.png; CTYPE[pymnist]=image/png
        EXPECT[pymnist]=$TMP/pymnist_expected; EXACT[pymnist]=1
        # the floor's answer, before any server is checked
        $PY "$BENCH/pyfloor.py" --answer "$FIXTURES/mnist.mar" "${BODYF[pymnist]}" \
            "${CTYPE[pymnist]}" "${EXPECT[pymnist]}" 2>"$TMP/pyfloor.err" \
            || { cat "$TMP/pyfloor.err" >&2; echo "run.sh: the Python floor fails" >&2; exit 1; }
        # the same floor in an interpreter linked to Debian's libpython3.11.so,
        # the library the module embeds (Debian's python3 is a static build,
        # faster in Python code): printed beside the floor, not a ratio's base
        PYSHARED=$TMP/python-shared
        cc -o "$PYSHARED" "$($PY -c 'import sysconfig; print(sysconfig.get_config_var("LIBPL"))')/python.o" \
            -lpython3.11 -lm 2>"$TMP/python-shared.err" || PYSHARED=
    else
        echo "run.sh: no $FIXTURES/mnist.mar or mnist_digit.png (make fixtures): skipping pymnist" >&2
    fi
fi
has_model() {  # model -> true when it is set up
    local m
    for m in "${MODEL_NAMES[@]}"; do [ "$m" = "$1" ] && return 0; done
    return 1
}

# --- servers ----------------------------------------------------------------
# name port pid and the models it serves, in start order
declare -A PORT PID SERVES
SERVERS=()

wait_port() {   # port pid
    for _ in $(seq 600); do
        kill -0 "$2" 2>/dev/null || { echo "run.sh: server on $1 died" >&2; return 1; }
        if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "run.sh: nothing listens on $1" >&2; return 1
}

nginx_conf() {  # prefix port workers threads(0 = return 200) models(ts|py|vis) [batch params (py: http directives) [listen params]]
    local prefix=$1 port=$2 wp=$3 tp=$4 kind=$5 batch=${6:-} listen="127.0.0.1:$2${7:+ $7}"
    mkdir -p "$prefix"/{logs,tmp}
    # the worker processes (nobody, under a root master) write the state
    # file (nginx -t checks) and unpack the Python archive, each into its
    # own 0700 folder
    mkdir -p -m 1777 "$prefix/state"
    [ "$kind" = py ] && mkdir -p -m 1777 "$prefix/pytmp"
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
        if [ "$tp" -gt 0 ] && [ "$kind" = py ]; then
            echo "    torchserve_model_store $FIXTURES;"
            echo "    torchserve_temp_path $prefix/pytmp;"
            echo "    torchserve_thread_pool torchserve;"
            echo "    torchserve_zone torchserve:16m;"
            echo "    torchserve_state state/registry.json;"
            echo "    torchserve_model mnist mnist.mar workers=$((2 * tp));"
            # for a Python server, the batch argument is an http directive
            [ -z "$batch" ] || echo "    $batch"
            # /metrics: where a request's time goes (split.tsv)
            echo "    server { listen $listen; location /metrics { torchserve_metrics; }"
            echo "             location / { torchserve_inference; } }"
        elif [ "$tp" -gt 0 ] && [ "$kind" = vis ]; then
            echo "    torchserve_model_store $MODELS;"
            echo "    torchserve_thread_pool torchserve;"
            echo "    torchserve_zone torchserve:16m;"
            echo "    torchserve_state state/registry.json;"
            echo "    torchserve_model resnet18_vision resnet18_vision.mar workers=$((2 * tp))${batch:+ $batch};"
            echo "    server { listen $listen; location /metrics { torchserve_metrics; }"
            echo "             location / { torchserve_inference; } }"
        elif [ "$tp" -gt 0 ]; then
            echo "    torchserve_model_store $MODELS;"
            echo "    torchserve_thread_pool torchserve;"
            echo "    torchserve_zone torchserve:16m;"
            echo "    torchserve_state state/registry.json;"
            local l per
            for l in "${MODEL_LINES[@]}"; do
                set -- $l
                # without batching two batches per pool thread in flight:
                # the next one is queued when a thread finishes (+6-8% over
                # workers=T); with batching one per thread, as more would
                # split the load into more, smaller batches
                per=2; [ -z "$batch" ] || per=1
                echo "    torchserve_model $1 $1.mar workers=$((per * tp)) input_shape=$2${batch:+ $batch};"
            done
            echo "    server { listen $listen; location /metrics { torchserve_metrics; }"
            echo "             location / { torchserve_inference; } }"
        else
            echo "    server { listen $listen; location / { return 200 \"ok\\n\"; } }"
        fi
        echo "}"
    } > "$prefix/nginx.conf"
}

start_nginx() {  # name port workers threads models(ts|py|vis) [batch params [listen params]]
    wanted "$1" || return 0
    local prefix=$TMP/$1
    nginx_conf "$prefix" "$2" "$3" "$4" "$5" "${6:-}" "${7:-}"
    "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
        -g "daemon off;" >"$prefix/logs/stdout" 2>&1 &
    STOPSIG[$!]=QUIT; PIDS+=($!); PID[$1]=$!; PORT[$1]=$2; SERVERS+=("$1")
    case $5 in
    py) SERVES[$1]=pymnist ;;
    vis) SERVES[$1]=resnet18_vision ;;
    *) SERVES[$1]="$TS_MODELS$TS_V2_MODELS" ;;
    esac
}

start_py() {  # name port models command...
    local name=$1 port=$2 models=$3; shift 3
    wanted "$name" || return 0
    mkdir -p "$TMP/$name"
    # glibc tuned as the module's workers and the floor are
    (cd "$BENCH" && BENCH_MODELS=$MODELS BENCH_MAR=$FIXTURES/mnist.mar TMPDIR=$TMP/$name \
        MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864 \
        MALLOC_TOP_PAD_=67108864 exec "$@") >"$TMP/$name/log" 2>&1 &
    PIDS+=($!); PID[$name]=$!; PORT[$name]=$port; SERVERS+=("$name"); SERVES[$name]=$models
}

have_flask() { command -v gunicorn >/dev/null && $PY -c 'import flask' 2>/dev/null; }
have_fastapi() { command -v uvicorn >/dev/null && $PY -c 'import fastapi, uvloop, httptools' 2>/dev/null; }

if [ ${#MODEL_LINES[@]} -gt 0 ]; then
    start_nginx return200 18501 2 0 ts
    port=18510
    for wp in $TS_WP; do
        for tp in $TS_TP; do
            start_nginx "ts_wp${wp}_tp${tp}" $port $wp $tp ts
            start_nginx "ts_wp${wp}_tp${tp}_b8" $((port + 20)) $wp $tp ts \
                "batch_size=8 max_batch_delay=5ms"
            port=$((port + 1))
        done
        # TorchServe's fixed delay, beside the adaptive _b8 (#13)
        start_nginx "ts_wp${wp}_tp2_b8d" $((18560 + wp)) $wp 2 ts \
            "batch_size=8 max_batch_delay=5ms batch_policy=delay"
    done
    if have_flask; then
        start_py flask 18520 "$TS_MODELS" gunicorn --workers 2 --worker-class sync \
            --bind 127.0.0.1:18520 --timeout 120 py_flask:app
    else
        echo "run.sh: no gunicorn/flask: skipping flask" >&2
    fi
    if have_fastapi; then
        start_py fastapi 18521 "$TS_MODELS" uvicorn --workers 2 --loop uvloop --http httptools \
            --host 127.0.0.1 --port 18521 --no-access-log --log-level warning py_fastapi:app
    else
        echo "run.sh: no uvicorn/fastapi/uvloop/httptools: skipping fastapi" >&2
    fi
fi
if has_model pymnist; then
    port=18540
    for tp in $PY_TP; do
        start_nginx "pyts_wp${NCPU}_tp${tp}" $port "$NCPU" $tp py
        port=$((port + 1))
    done
    # one listening socket per worker process: the kernel spreads the
    # connections over the processes (a process serves its connections'
    # Python work one at a time, the GIL being its own)
    port=18545
    for tp in $PY_TP_RP; do
        start_nginx "pyts_wp${NCPU}_tp${tp}_rp" $port "$NCPU" $tp py "" reuseport
        port=$((port + 1))
    done
    # without handing predictions over: where the connections land decides
    port=18547
    for tp in $PY_TP_NHO; do
        start_nginx "pyts_wp${NCPU}_tp${tp}_nho" $port "$NCPU" $tp py \
            "torchserve_handoff off;"
        port=$((port + 1))
    done
    if have_flask; then
        start_py pyflask 18550 pymnist gunicorn --workers 2 --worker-class sync \
            --bind 127.0.0.1:18550 --timeout 120 py_flask_handler:app
    else
        echo "run.sh: no gunicorn/flask: skipping pyflask" >&2
    fi
    if have_fastapi; then
        start_py pyfastapi 18551 pymnist uvicorn --workers 2 --loop uvloop --http httptools \
            --host 127.0.0.1 --port 18551 --no-access-log --log-level warning py_fastapi_handler:app
    else
        echo "run.sh: no uvicorn/fastapi/uvloop/httptools: skipping pyfastapi" >&2
    fi
fi
if has_model resnet18_vision; then
    port=18701
    for tp in $VIS_TP; do
        start_nginx "vis_wp${VIS_WP}_tp${tp}" $port $VIS_WP $tp vis
        start_nginx "vis_wp${VIS_WP}_tp${tp}_b8" $((port + 10)) $VIS_WP $tp vis \
            "batch_size=8 max_batch_delay=5ms"
        port=$((port + 1))
    done
    if have_flask; then
        start_py visflask 18720 resnet18_vision gunicorn --workers 2 --worker-class sync \
            --bind 127.0.0.1:18720 --timeout 120 py_flask_vision:app
    else
        echo "run.sh: no gunicorn/flask: skipping visflask" >&2
    fi
fi
[ ${#SERVERS[@]} -gt 0 ] || { echo "run.sh: no server matches ONLY='${ONLY:-}'" >&2; exit 1; }

serves() {  # server model -> true when the server answers that model
    [[ " ${SERVES[$1]} " == *" $2 "* ]]
}
ACTIVE_MODELS=()   # the models some started server serves: their floors run
for m in "${MODEL_NAMES[@]}"; do
    [ -z "${ONLY_MODELS:-}" ] || [[ $m =~ $ONLY_MODELS ]] || continue
    for s in "${SERVERS[@]}"; do
        if serves "$s" "$m"; then ACTIVE_MODELS+=("$m"); break; fi
    done
done

for s in "${SERVERS[@]}"; do wait_port "${PORT[$s]}" "${PID[$s]}"; done

url_of() {  # server model -> the URL its requests go to
    echo "http://127.0.0.1:${PORT[$1]}${URLPATH[$2]:-/predictions/${URLNAME[$2]}}"
}

check() {  # server model -> check.py's verdict on its answer
    local x=()
    if [ "${EXACT[$2]}" = 3 ]; then
        $PY "$BENCH/v2_bodies.py" --check "$(url_of "$1" "$2")" "${BODYF[$2]}" \
            "${HDRLEN[$2]}" "${EXPECT[$2]}"
        return
    fi
    [ "${EXACT[$2]}" = 1 ] && x=(--exact)
    [ "${EXACT[$2]}" = 2 ] && x=(--classifier)
    $PY "$BENCH/check.py" --type "${CTYPE[$2]}" "${x[@]}" \
        "http://127.0.0.1:${PORT[$1]}/predictions/${URLNAME[$2]}" "${BODYF[$2]}" "${EXPECT[$2]}"
}

# every server gives Python's answer (return200 excepted), before any load
for s in "${SERVERS[@]}"; do
    [ "$s" = return200 ] && continue
    for m in "${ACTIVE_MODELS[@]}"; do
        serves "$s" "$m" || continue
        ok=0
        for _ in $(seq 60); do   # worker processes load models after listening
            if check "$s" "$m" >"$TMP/check.out" 2>&1; then ok=1; break; fi
            sleep 0.5
        done
        echo "[$s] $(cat "$TMP/check.out")"
        [ $ok = 1 ] || { echo "run.sh: $s gives a wrong answer for $m" >&2; exit 1; }
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

# the module's latency histograms (sum, count): queue, in the thread, routing
# to answer; read before and after each run of a server of this module
split_now() {  # port model -> "queue_sum thread_sum request_sum count"
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v m="model_name=\"$2\"" '
        index($0, m) == 0 { next }
        /^ts_queue_latency_seconds_sum/ { q = $2 } /^ts_inference_seconds_sum/ { i = $2 }
        /^ts_request_latency_seconds_sum/ { r = $2 } /^ts_request_latency_seconds_count/ { n = $2 }
        END { print q + 0, i + 0, r + 0, n + 0 }'
}
split_of() {  # "before" "after" -> "queue_ms thread_ms request_ms" (means)
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[4] - x[4]
        if (n <= 0) { print "- - -"; exit }
        printf "%.3f %.3f %.3f\n", (y[1] - x[1]) / n * 1000, (y[2] - x[2]) / n * 1000, (y[3] - x[3]) / n * 1000 }'
}
SPLIT=$RES/split.tsv
printf 'round\tserver\tmodel\tconns\tqueue_ms\tthread_ms\trequest_ms\n' > "$SPLIT"

run_wrk() {  # round server model conns
    local r=$1 s=$2 m=$3 c=$4 t=2 out d before=""
    WRK_RPS=""
    d=$(dur "$m")
    [ "$c" -lt 2 ] && t=1
    [[ $s =~ ^(ts|pyts|vis)_ ]] && before=$(split_now "${PORT[$s]}" "${URLNAME[$m]}")
    out=$(BODY=${BODYF[$m]} CTYPE=${CTYPE[$m]} HDRLEN=${HDRLEN[$m]:-} wrk -t$t -c"$c" -d"${d}s" \
          --timeout "$WRK_TIMEOUT" -s "$BENCH/post.lua" "$(url_of "$s" "$m")" 2>&1 \
          | grep '^RESULT' || true)
    # the batches still running for the connections wrk just closed
    # finish before the next run starts (resnet18 in batches of 8: ~0.7 s)
    sleep "$SETTLE"
    if [ -z "$out" ]; then echo "run.sh: wrk failed on $s $m c=$c" >&2; return; fi
    # RESULT requests=N seconds=S rps=R p50_ms=A p99_ms=B errors=E
    eval "local ${out#RESULT }"
    WRK_RPS=$rps
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$m" "$c" "$rps" "$p50_ms" "$p99_ms" "$errors" "$(load1)" >> "$RAW"
    printf '  %-12s %-9s c=%-3s %9s req/s  p50 %8s ms  p99 %8s ms  errors %s\n' "$s" "$m" "$c" "$rps" "$p50_ms" "$p99_ms" "$errors"
    if [ -n "$before" ]; then
        local q th rq
        read -r q th rq <<<"$(split_of "$before" "$(split_now "${PORT[$s]}" "${URLNAME[$m]}")")"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$m" "$c" "$q" "$th" "$rq" >> "$SPLIT"
        printf '  %-12s %-9s c=%-3s means: queue %s ms, in the thread %s ms, routing to answer %s ms\n' \
            "" "" "$c" "$q" "$th" "$rq"
    fi
}

# paired runs: this machine's speed drifts by 5-10% within minutes, more
# than the gaps the targets are about; for the servers and models matched
# by PAIR_SERVERS / PAIR_MODELS the floor also runs right before each run at
# the first connection count, and paired.tsv keeps the two side by side
PAIRED=$RES/paired.tsv
printf 'round\tserver\tmodel\tconns\tfloor_rps\tserver_rps\n' > "$PAIRED"
paired() {  # server model conns
    [ "$3" = "${CONNS%% *}" ] && [ -n "$PAIR_SERVERS" ] && [[ $1 =~ $PAIR_SERVERS ]] \
        && [ -n "$PAIR_MODELS" ] && [[ $2 =~ $PAIR_MODELS ]] && [ -n "${PT[$2]:-}" ] \
        && [ "$2" != resnet18_vision ]
}
pair_floor() {  # model -> PAIR_RPS
    local line
    line=$("$RES/floor" "$MODELS/${PT[$1]}.pt" "${SHAPE[$1]}" "$(dur "$1")" "$NCPU")
    PAIR_RPS=$(sed 's/.*rps=\([^ ]*\).*/\1/' <<<"$line")
}

record_floor() {  # round name model "floor's line" -> a raw.tsv row; sets rps p50 p99
    rps=$(sed 's/.*rps=\([^ ]*\).*/\1/' <<<"$4")
    p50=$(sed 's/.*p50_ms=\([^ ]*\).*/\1/' <<<"$4")
    p99=$(sed 's/.*p99_ms=\([^ ]*\).*/\1/' <<<"$4")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t0\t%s\n' "$1" "$2" "$3" "$NCPU" "$rps" "$p50" "$p99" "$(load1)" >> "$RAW"
}

# the vision floor: forward() on preprocessed tensors (floor.cpp, batches of
# 1 and 8) and our preprocessing of the body (decode + transform, one
# thread per core), each measured alone on every core; a core's time per
# image is the sum of the two, so floor = 1 / (1 / fwd + 1 / pre) images/s
# (rps of each summed over the cores); p50 = fwd p50 + pre p50 (b8: a
# batch's forward + 8 preprocessings)
vision_floor() {  # round model
    local r=$1 m=$2 fwd fwd8 pre f
    out=$("$RES/floor" "$MODELS/resnet18.pt" "${SHAPE[$m]}" "$(dur "$m")" "$NCPU")
    record_floor "$r" floor_fwd "$m" "$out"; fwd=("$rps" "$p50" "$p99")
    out=$("$RES/floor" "$MODELS/resnet18.pt" "${SHAPE[$m]}" "$(dur "$m")" "$NCPU" 8)
    record_floor "$r" floor_fwd_b8 "$m" "$out"; fwd8=("$rps" "$p50" "$p99")
    out=$("$PREPROCESS" --image "${BODYF[$m]}" --threads "$NCPU" "$(dur "$m")")
    record_floor "$r" floor_pre "$m" "$out"; pre=("$rps" "$p50" "$p99")
    printf '  %-12s %-9s t=%-3s %9s img/s   p50 %8s ms  p99 %8s ms (forward only)\n' floor_fwd "$m" "$NCPU" "${fwd[@]}"
    printf '  %-12s %-9s t=%-3s %9s img/s   p50 %8s ms  p99 %8s ms (forward only, per batch of 8)\n' floor_fwd_b8 "$m" "$NCPU" "${fwd8[@]}"
    printf '  %-12s %-9s t=%-3s %9s img/s   p50 %8s ms  p99 %8s ms (decode + transform only)\n' floor_pre "$m" "$NCPU" "${pre[@]}"
    for f in floor floor_b8; do
        local a=("${fwd[@]}") k=1
        [ $f = floor_b8 ] && { a=("${fwd8[@]}"); k=8; }
        out=$(awk -v f="${a[0]}" -v p="${pre[0]}" -v f50="${a[1]}" -v p50="${pre[1]}" \
                  -v f99="${a[2]}" -v p99="${pre[2]}" -v k=$k 'BEGIN {
            printf "rps=%.1f p50_ms=%.3f p99_ms=%.3f\n", 1 / (1 / f + 1 / p), f50 + k * p50, f99 + k * p99 }')
        record_floor "$r" $f "$m" "$out"
        printf '  %-12s %-9s t=%-3s %9s img/s   p50 %8s ms  p99 %8s ms (forward + preprocessing)\n' $f "$m" "$NCPU" "$rps" "$p50" "$p99"
    done
}

# warm-up, not recorded: every server and model, 1 s at 2 connections
echo "warm-up"
for m in "${ACTIVE_MODELS[@]}"; do
    for s in "${SERVERS[@]}"; do
        serves "$s" "$m" || continue
        BODY=${BODYF[$m]} CTYPE=${CTYPE[$m]} HDRLEN=${HDRLEN[$m]:-} wrk -t1 -c2 -d1s \
            --timeout "$WRK_TIMEOUT" -s "$BENCH/post.lua" "$(url_of "$s" "$m")" \
            >/dev/null 2>&1 || true
    done
done

declare -A FLOOR1 FLOOR8
for r in $(seq "$ROUNDS"); do
    echo "round $r/$ROUNDS"
    FLOOR1=(); FLOOR8=()
    for m in "${ACTIVE_MODELS[@]}"; do
        if [ "$m" = pymnist ]; then
            out=$($PY "$BENCH/pyfloor.py" "$FIXTURES/mnist.mar" "${BODYF[$m]}" "${CTYPE[$m]}" \
                  "$(dur "$m")" "$NCPU" 2>>"$TMP/pyfloor.err") \
                || { tail "$TMP/pyfloor.err" >&2; echo "run.sh: the Python floor failed" >&2; exit 1; }
            record_floor "$r" floor "$m" "$out"
            printf '  %-12s %-9s p=%-3s %9s calls/s p50 %8s ms  p99 %8s ms (python3 processes)\n' \
                floor "$m" "$NCPU" "$rps" "$p50" "$p99"
            if [ -n "${PYSHARED:-}" ] \
               && out=$("$PYSHARED" "$BENCH/pyfloor.py" "$FIXTURES/mnist.mar" "${BODYF[$m]}" \
                        "${CTYPE[$m]}" "$(dur "$m")" "$NCPU" 2>>"$TMP/pyfloor.err"); then
                printf '  %-12s %-9s p=%-3s %9s calls/s p50 %8s ms  p99 %8s ms (on libpython3.11.so, as embedded)\n' \
                    floor_so "$m" "$NCPU" "$(sed 's/.*rps=\([^ ]*\).*/\1/' <<<"$out")" \
                    "$(sed 's/.*p50_ms=\([^ ]*\).*/\1/' <<<"$out")" "$(sed 's/.*p99_ms=\([^ ]*\).*/\1/' <<<"$out")"
            fi
        elif [ "$m" = resnet18_vision ]; then
            vision_floor "$r" "$m"
        else
            shape=${SHAPE[$m]}
            # the v2 models' floor is resnet18's, measured once a round
            if [ "${PT[$m]}" != "$m" ] && [ -n "${FLOOR1[${PT[$m]}]:-}" ]; then
                record_floor "$r" floor "$m" "${FLOOR1[${PT[$m]}]}"
                record_floor "$r" floor_b8 "$m" "${FLOOR8[${PT[$m]}]}"
            else
                out=$("$RES/floor" "$MODELS/${PT[$m]}.pt" "$shape" "$(dur "$m")" "$NCPU")
                record_floor "$r" floor "$m" "$out"; FLOOR1[$m]=$out
                printf '  %-12s %-9s t=%-3s %9s calls/s p50 %8s ms  p99 %8s ms\n' floor "$m" "$NCPU" "$rps" "$p50" "$p99"
                out=$("$RES/floor" "$MODELS/${PT[$m]}.pt" "$shape" "$(dur "$m")" "$NCPU" 8)
                record_floor "$r" floor_b8 "$m" "$out"; FLOOR8[$m]=$out
                printf '  %-12s %-9s t=%-3s %9s inst/s  p50 %8s ms  p99 %8s ms (per batch of 8)\n' floor_b8 "$m" "$NCPU" "$rps" "$p50" "$p99"
            fi
        fi
        for s in "${SERVERS[@]}"; do
            serves "$s" "$m" || continue
            for c in $CONNS; do
                if paired "$s" "$m" "$c"; then
                    pair_floor "$m"; run_wrk "$r" "$s" "$m" "$c"
                    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$m" "$c" "$PAIR_RPS" "$WRK_RPS" >> "$PAIRED"
                else
                    run_wrk "$r" "$s" "$m" "$c"
                fi
            done
        done
    done
done

LOAD_END=$(cat /proc/loadavg)
T_END=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
memory > "$RES/memory.txt"

# every server still answers right after the load
for s in "${SERVERS[@]}"; do
    [ "$s" = return200 ] && continue
    for m in "${ACTIVE_MODELS[@]}"; do
        serves "$s" "$m" || continue
        check "$s" "$m" >/dev/null || echo "run.sh: $s answers $m wrongly after the load" >&2
    done
done
cleanup

{
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $NCPU"
    echo "kernel: $(uname -sr); nginx: $("$NGINX" -v 2>&1 | cut -d/ -f2); torch: $($PY -c 'import torch; print(torch.__version__)' 2>/dev/null)"
    echo "start: $T_START, load $LOAD_START"
    echo "end: $T_END, load $LOAD_END"
    echo "rounds: $ROUNDS x ${DURATION}s (resnet18: $(dur resnet18)s, resnet18_vision: $(dur resnet18_vision)s), connections: $CONNS, wrk -t2 (-t1 at c=1), on the same cores"
    echo "models: ${ACTIVE_MODELS[*]}"
} > "$RES/machine.txt"

$PY "$BENCH/report.py" "$RES"
