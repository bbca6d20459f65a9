#!/bin/bash
# bench/valgrind_serve.sh: one nginx worker process under valgrind's
# memcheck (leak-check=full) serving N requests of each handler kind
# (issue #16): digits (TorchScript, the C tensor handler), vision_cls (the
# C image classifier, a JPEG), mnist (a Python handler.py on an eager
# model.py: the embedded interpreter), then a graceful stop, so that the
# worker frees its models at exit. Bounded, loopback only; not part of
# make test (tens of minutes: valgrind runs about 30-60 times slower).
#
#   bench/valgrind_serve.sh               # N=10000 requests of each kind
#   N=200 bench/valgrind_serve.sh         # a quick look
#
# Every answer must be 200 and the same bytes as the first one of its
# model. Output: $RESULTS (default bench/results/valgrind/, ignored by
# git): valgrind's log of each process (vg.PID), the error log, and
# summary.md: per process the errors and the leak summary, and every
# "definitely lost" record whose stack passes through our code (the
# module, ts_*). Exit status 1 when a request failed, valgrind reported an
# error, or a record of ours was definitely lost.
#
# Environment: N, PORT (18920), MODULE, FIXTURES, NGINX, PYTHON, RESULTS,
# MODELS (a subset of "digits vision_cls mnist"), KEEP=1 keeps the prefix.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
MODULE=${MODULE:-$ROOT/build/ngx_http_torchserve_module.so}
FIXTURES=${FIXTURES:-$ROOT/build/fixtures}
NGINX=${NGINX:-/usr/sbin/nginx}
PY=${PYTHON:-/usr/bin/python3}
PORT=${PORT:-18920}
N=${N:-10000}
MODELS=${MODELS:-digits vision_cls mnist}
RESULTS=${RESULTS:-$HERE/results/valgrind}
KEEP=${KEEP:-0}

log() { printf '[valgrind %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 2; }

command -v valgrind >/dev/null || die "valgrind is not installed"
for f in "$MODULE" "$NGINX"; do [ -e "$f" ] || die "missing $f (make all)"; done
for m in $MODELS; do
    [ -e "$FIXTURES/$m.mar" ] || die "missing $FIXTURES/$m.mar (make fixtures)"
done
if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then
    die "127.0.0.1:$PORT is in use (PORT= chooses another)"
fi

P=$(mktemp -d /tmp/ts-valgrind.XXXXXX) || die "mktemp failed"
chmod 755 "$P"
mkdir -p "$P/logs" "$P/tmp" "$P/temp" "$RESULTS"
rm -f "$RESULTS"/vg.* "$RESULTS"/summary.md "$RESULTS"/error.log
[ "$(id -u)" = 0 ] && chown nobody:nogroup "$P/tmp" "$P/temp"
VG_PID=

cleanup() {
    local rc=$?
    if [ -n "$VG_PID" ] && kill -0 "$VG_PID" 2>/dev/null; then
        kill -QUIT "$VG_PID" 2>/dev/null
        sleep 30
        pkill -9 -f "$P/nginx.conf" 2>/dev/null
    fi
    if [ "$KEEP" = 1 ]; then log "kept the prefix $P"; else rm -rf "$P"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

conf_models=
for m in $MODELS; do
    conf_models+="    torchserve_model $m $m.mar;"$'\n'
done

cat > "$P/nginx.conf" <<EOF
load_module $MODULE;

daemon off;
master_process on;
worker_processes 1;
error_log logs/error.log notice;
pid logs/nginx.pid;
thread_pool torchserve threads=2;

events {
    worker_connections 256;
}

http {
    access_log off;
    client_body_temp_path $P/temp/body;
    proxy_temp_path $P/temp/proxy;
    fastcgi_temp_path $P/temp/fastcgi;
    uwsgi_temp_path $P/temp/uwsgi;
    scgi_temp_path $P/temp/scgi;

    torchserve_model_store $FIXTURES;
    torchserve_thread_pool torchserve;
    torchserve_temp_path $P/tmp;
$conf_models
    server {
        listen 127.0.0.1:$PORT;
        location /models { torchserve_management; }
        location / { torchserve_inference; }
    }
}
EOF

# the master and its worker (a fork: valgrind follows it) report apart
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=none --num-callers=40 --fair-sched=yes \
    --error-limit=no --suppressions="$ROOT/t/valgrind.supp" \
    --log-file="$P/logs/vg.%p" \
    "$NGINX" -p "$P" -c nginx.conf &
VG_PID=$!
log "nginx under valgrind started (pid $VG_PID) in $P; loading $MODELS"

"$PY" - "$PORT" "$N" "$FIXTURES" $MODELS <<'EOF' > "$RESULTS/requests.txt"
import http.client, json, sys, time

port, n, fixtures, models = int(sys.argv[1]), int(sys.argv[2]), \
    sys.argv[3], sys.argv[4:]
bodies = {
    "digits": ("digits_input.json", "application/json"),
    "vision_cls": ("vision/kitten.jpg", "image/jpeg"),
    "mnist": ("mnist_digit.png", "image/png"),
}


def ask(conn, method, path, body=None, ctype=None):
    conn.request(method, path, body=body,
                 headers={"Content-Type": ctype} if ctype else {})
    r = conn.getresponse()
    return r.status, r.read()


# every model READY in the worker process: loading under valgrind is slow
deadline = time.time() + 900
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        ready = all(
            json.loads(ask(c, "GET", "/models/" + m)[1])[0]["workers"][0]
            ["status"] == "READY" for m in models)
        c.close()
        if ready:
            break
    except (OSError, ValueError, KeyError, IndexError, http.client.HTTPException):
        pass
    if time.time() > deadline:
        sys.exit("the models did not load in 900 s")
    time.sleep(2)

failed = 0
for m in models:
    name, ctype = bodies[m]
    body = open("%s/%s" % (fixtures, name), "rb").read()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    first, bad, t0 = None, 0, time.time()
    for i in range(n):
        try:
            status, answer = ask(c, "POST", "/predictions/" + m, body, ctype)
        except (OSError, http.client.HTTPException) as e:
            status, answer = str(e), b""
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        if first is None and status == 200:
            first = answer
        if status != 200 or answer != first:
            bad += 1
            if bad <= 3:
                print("%s #%d: %s %r" % (m, i, status, answer[:200]))
    c.close()
    failed += bad
    print("%s: %d requests, %d not 200 or not the first answer, %.0f s "
          "(%.1f ms a request under valgrind)" % (
              m, n, bad, time.time() - t0, (time.time() - t0) * 1000 / n))
    sys.stdout.flush()
sys.exit(1 if failed else 0)
EOF
REQ_RC=$?
cat "$RESULTS/requests.txt" >&2

log "graceful stop (the worker frees its models at exit)"
kill -QUIT "$VG_PID" 2>/dev/null
for _ in $(seq 600); do kill -0 "$VG_PID" 2>/dev/null || break; sleep 1; done
wait "$VG_PID" 2>/dev/null
VG_PID=
cp "$P/logs/vg."* "$RESULTS/" 2>/dev/null
cp "$P/logs/error.log" "$RESULTS/error.log"

"$PY" - "$RESULTS" "$REQ_RC" "$N" "$MODELS" <<'EOF'
import glob, os, re, sys

d, req_rc, n, models = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ours = re.compile(r"ngx_http_torchserve|\bts_\w+|torchserve_module\.so")
out = ["# bench/valgrind_serve.sh: %s requests of each of %s\n" % (n, models),
       open(os.path.join(d, "requests.txt")).read().strip(), "",
       "| process | errors | definitely lost | indirectly lost | "
       "possibly lost | still reachable | records of ours |",
       "|---|---|---|---|---|---|---|"]
bad = req_rc != 0
for f in sorted(glob.glob(os.path.join(d, "vg.*"))):
    text = open(f, errors="replace").read()
    errors = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
    kinds = {}
    for kind in ("definitely", "indirectly", "possibly"):
        m = re.search(r"%s lost: ([\d,]+) bytes in ([\d,]+) blocks" % kind,
                      text)
        kinds[kind] = "%s B in %s" % m.groups() if m else "0"
    m = re.search(r"still reachable: ([\d,]+) bytes", text)
    kinds["reachable"] = m.group(1) + " B" if m else "-"
    # one record: from "N bytes in M blocks are definitely lost" to the
    # blank line after its stack
    records = re.findall(r"==\d+== [\d,]+ (?:\([^)]*\) )?bytes in [\d,]+ "
                         r"blocks are definitely lost.*?(?:\n==\d+== *\n|\Z)",
                         text, re.S)
    mine = [r for r in records if ours.search(r)]
    # memory errors (leaks are not counted: --errors-for-leak-kinds=none)
    other = int(errors[-1]) if errors else 0
    bad |= other > 0 or bool(mine)
    out.append("| %s | %d | %s | %s | %s | %s | %d |" % (
        os.path.basename(f), other, kinds["definitely"], kinds["indirectly"],
        kinds["possibly"], kinds["reachable"], len(mine)))
    for r in mine:
        out.append("\n```\n%s\n```" % r.strip())
out.append("\nresult: %s" % ("FAIL" if bad else "PASS"))
text = "\n".join(out) + "\n"
open(os.path.join(d, "summary.md"), "w").write(text)
print(text)
sys.exit(1 if bad else 0)
EOF
