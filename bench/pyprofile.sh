#!/bin/bash
# bench/pyprofile.sh: where a Python prediction's CPU time goes, per call,
# in the module's worker processes against the Python floor on the same
# interpreter library (libpython3.11.so, as the module embeds it).
#
# Starts nginx (worker_processes 2, thread pool 1, the MNIST tutorial's
# build/fixtures/mnist.mar, workers=2) on 127.0.0.1:18590, then ROUNDS times:
#   - wrk -c CONNS for SECONDS, `perf record -a` over its middle
#     (SECONDS - 2 s), samples of the nginx processes only;
#   - bench/pyfloor.py on libpython3.11.so (PROCESSES = CONNS, at most the
#     cores) for SECONDS, `perf record -a` over the same middle window,
#     samples of the floor's processes only;
# and prints, per shared object, the CPU milliseconds per call (samples /
# frequency / calls in the window; calls = rate x window), the two side
# by side, and the event loop's share (nginx's main threads).
#
#   bench/pyprofile.sh                    (make all fixtures bench-deps)
# env: CONNS=1 SECONDS_RUN=8 ROUNDS=2 FREQ=1999 OUT=bench/results/pyprofile
#      AFFINITY=auto (adds worker_cpu_affinity auto: each worker process,
#      its pool thread too, on a core of its own)
# Needs perf (kernel.perf_event_paranoid <= 0 or root) and wrk; no other
# nginx on port 18590; run it on a quiet machine, never beside make test.
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$BENCH")
PY=/usr/bin/python3
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$TOP/build/ngx_http_torchserve_module.so}
FIXTURES=${FIXTURES:-$TOP/build/fixtures}
CONNS=${CONNS:-1}
SECS=${SECONDS_RUN:-8}
ROUNDS=${ROUNDS:-2}
FREQ=${FREQ:-1999}
OUT=${OUT:-$BENCH/results/pyprofile}
PORT=18590
WINDOW=$((SECS - 2))
[ "$WINDOW" -ge 2 ] || { echo "pyprofile: SECONDS_RUN must be 4 or more" >&2; exit 2; }

for tool in perf wrk cc; do
    command -v $tool >/dev/null || { echo "pyprofile: no $tool (make bench-deps)" >&2; exit 1; }
done
[ -f "$MODULE" ] || { echo "pyprofile: $MODULE missing: make all" >&2; exit 1; }
[ -f "$FIXTURES/mnist.mar" ] || { echo "pyprofile: no $FIXTURES/mnist.mar: make fixtures" >&2; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT"/{logs,tmp}
mkdir -p -m 1777 "$OUT/pytmp"
PYSHARED=$OUT/python-shared
cc -o "$PYSHARED" "$($PY -c 'import sysconfig; print(sysconfig.get_config_var("LIBPL"))')/python.o" \
    -lpython3.11 -lm

cat >"$OUT/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 2;
${AFFINITY:+worker_cpu_affinity $AFFINITY;}
error_log logs/error.log warn;
pid logs/nginx.pid;
thread_pool torchserve threads=1 max_queue=65536;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    torchserve_model_store $FIXTURES;
    torchserve_temp_path $OUT/pytmp;
    torchserve_thread_pool torchserve;
    torchserve_model mnist mnist.mar workers=2;
    server { listen 127.0.0.1:$PORT; location / { torchserve_inference; } }
}
CONF

"$NGINX" -p "$OUT" -c "$OUT/nginx.conf" -e "$OUT/logs/error.log"
trap '"$NGINX" -p "$OUT" -c "$OUT/nginx.conf" -e "$OUT/logs/error.log" -s quit 2>/dev/null || true' EXIT
URL=http://127.0.0.1:$PORT/predictions/mnist
BODY=$FIXTURES/mnist_digit.png
for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -T "$BODY" "$URL" 2>/dev/null)" = 200 ] && break
    sleep 0.2
done
export BODY CTYPE=image/png
wrk -t1 -c"$CONNS" -d2s -s "$BENCH/post.lua" "$URL" >/dev/null

procs=$CONNS; [ "$procs" -le "$(nproc)" ] || procs=$(nproc)

# per-DSO samples of the processes named $2 in perf data $1, as ms per
# call (sorted by comm and dso: perf's --comm filter drops kernel samples)
per_call() {  # data comm calls
    perf report -i "$1" --no-children --sort comm,dso -g none -F sample,comm,dso \
        2>/dev/null | awk -v c="$2" -v n="$3" -v f="$FREQ" '
        /^#/ || NF < 3 || $2 != c { next }
        { s = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); sub(/ tid [0-9]+$/, ""); a[$0] += s }
        END { for (k in a) printf "%s\t%.4f\n", k, a[k] / f / n * 1000 }' | sort
}

for r in $(seq "$ROUNDS"); do
    wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$BENCH/post.lua" "$URL" >"$OUT/wrk.$r" &
    w=$!
    sleep 1
    perf record -a -F "$FREQ" -o "$OUT/nginx.$r.data" -- sleep "$WINDOW" 2>/dev/null
    wait $w
    rps=$(sed -n 's/.*rps=\([^ ]*\).*/\1/p' "$OUT/wrk.$r")

    "$PYSHARED" "$BENCH/pyfloor.py" "$FIXTURES/mnist.mar" "$BODY" image/png "$SECS" "$procs" \
        >"$OUT/floor.$r" 2>"$OUT/floor.$r.err" &
    w=$!
    # the floor loads its model first (a few seconds): its loop starts when
    # its processes are ready; its window is the middle of that loop
    for _ in $(seq 600); do
        grep -q "^pyfloor: go" "$OUT/floor.$r.err" 2>/dev/null && break
        kill -0 $w 2>/dev/null || break
        sleep 0.1
    done
    sleep 1
    perf record -a -F "$FREQ" -o "$OUT/floor.$r.data" -- sleep "$WINDOW" 2>/dev/null
    wait $w
    frps=$(sed -n 's/.*rps=\([^ ]*\).*/\1/p' "$OUT/floor.$r")

    ncalls=$(awk -v r="$rps" -v w="$WINDOW" 'BEGIN { printf "%d", r * w }')
    fcalls=$(awk -v r="$frps" -v w="$WINDOW" 'BEGIN { printf "%d", r * w }')
    echo "round $r: nginx c=$CONNS $rps req/s; floor_so p=$procs $frps calls/s (window ${WINDOW}s)"
    per_call "$OUT/nginx.$r.data" nginx "$ncalls" >"$OUT/nginx.$r.tsv"
    per_call "$OUT/floor.$r.data" python-shared "$fcalls" >"$OUT/floor.$r.tsv"
    join -t"$(printf '\t')" -a1 -a2 -e - -o 0,1.2,2.2 "$OUT/nginx.$r.tsv" "$OUT/floor.$r.tsv" \
        | awk -F'\t' '{ printf "  %-52s %8s %8s\n", $1, $2, $3
                        if ($2 != "-") n += $2; if ($3 != "-") f += $3 }
                      BEGIN { printf "  %-52s %8s %8s\n", "ms per call", "nginx", "floor_so" }
                      END { printf "  %-52s %8.3f %8.3f\n", "total", n, f }'
    # the event loops: nginx's main threads (tid = pid)
    perf script -i "$OUT/nginx.$r.data" --comm nginx -F pid,tid 2>/dev/null \
        | awk -v n="$ncalls" -v f="$FREQ" '{ split($1, t, "/") } t[1] == t[2] { l++ } { a++ }
              END { printf "  nginx event loops: %.3f ms per call of %.3f\n", l / f / n * 1000, a / f / n * 1000 }'
done
