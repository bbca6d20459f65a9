#!/bin/bash
# bench/valgrind_serve.sh: one nginx worker process under valgrind's
# memcheck (leak-check=full) serving requests of each handler kind
# (issue #16), then a graceful stop, so that the worker frees its models
# at exit. Bounded, loopback only; not part of make test. The models:
#   digits             TorchScript, the C tensor handler (JSON in)
#   vision_mnist_tiny  the C image classifier: a PNG decoded, transformed,
#                      a linear net
#   mnist_tiny         the MNIST tutorial's handler.py (ImageClassifier,
#                      Pillow, torchvision) on an eager linear model.py:
#                      the embedded interpreter
#   greedy_time        a Python handler on a JSON body (numpy), no weights
#   vision_mnist, mnist   the same two image paths on the tutorial's CNN
# Under valgrind on 2 cores the first four take a few milliseconds a
# request; the CNN's ~0.6 s (libtorch's convolutions under memcheck), so
# N requests go to each of the first four and N_CNN to the CNN models.
#
#   bench/valgrind_serve.sh               # N=10000, N_CNN=1000 (~40 min)
#   N=200 N_CNN=20 bench/valgrind_serve.sh        # a quick look
#   REPORT_ONLY=1 bench/valgrind_serve.sh         # the report of the last run
#
# Every answer must be 200 and the same bytes as the first one of its
# model, and the first the answer the fixtures computed without us
# (digits: each number within 1e-4). Output: $RESULTS (default
# bench/results/valgrind/, ignored by git): valgrind's log of each
# process (vg.PID), the error log, and
# summary.md: per process the errors and the leak summary, then every
# "definitely lost" record: its size, its blocks (one per request would
# be a leak on the request path) and the first frames under the
# allocator. A record is ours when one of those three frames is our code
# (ngx_http_torchserve_*, ts_*, tsc_*): a library's one-time allocation
# made under a call of ours (libgomp's thread state under
# at::set_num_threads) is the library's. Exit status 1 when a request
# failed, valgrind reported an error, a record is ours, or one has 100
# blocks or more.
#
# Environment: N, N_CNN, REPORT_ONLY, PORT (18920), MODULE, FIXTURES, NGINX,
# PYTHON, RESULTS, MODELS (of the above and vision_cls), KEEP=1 keeps the
# prefix.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
MODULE=${MODULE:-$ROOT/build/ngx_http_torchserve_module.so}
FIXTURES=${FIXTURES:-$ROOT/build/fixtures}
NGINX=${NGINX:-/usr/sbin/nginx}
PY=${PYTHON:-/usr/bin/python3}
PORT=${PORT:-18920}
N=${N:-10000}
N_CNN=${N_CNN:-1000}
MODELS=${MODELS:-digits vision_mnist_tiny mnist_tiny greedy_time vision_mnist mnist}
RESULTS=${RESULTS:-$HERE/results/valgrind}
KEEP=${KEEP:-0}

log() { printf '[valgrind %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 2; }

if [ "${REPORT_ONLY:-0}" = 1 ]; then
    REQ_RC=$(cat "$RESULTS/requests.rc" 2>/dev/null || echo 1)
else
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

"$PY" - "$PORT" "$N" "$N_CNN" "$FIXTURES" $MODELS <<'EOF' \
    > "$RESULTS/requests.txt"
import http.client, json, sys, time

port, n_tensor, n_cnn, fixtures, models = int(sys.argv[1]), \
    int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
bodies = {
    "digits": ("digits_input.json", "application/json"),
    "vision_mnist_tiny": ("mnist_digit.png", "image/png"),
    "mnist_tiny": ("mnist_digit.png", "image/png"),
    "greedy_time": ("greedy_time.json", "application/json"),
    "vision_mnist": ("mnist_digit.png", "image/png"),
    "vision_cls": ("vision/kitten.jpg", "image/jpeg"),
    "mnist": ("mnist_digit.png", "image/png"),
}
cnn = {"vision_mnist", "mnist", "vision_cls"}


def fixture_json(name):
    with open("%s/%s" % (fixtures, name)) as f:
        return json.load(f)


# the answers the fixture scripts computed with plain torch/torchvision
python_expected = fixture_json("python_expected.json")
vision_expected = fixture_json("vision_expected.json")
digits_expected = fixture_json("expected.json")["digits"][0]
expected = {
    "vision_mnist_tiny": vision_expected["mnist_tiny"]["mnist_digit.png"],
    "vision_mnist": vision_expected["mnist"]["mnist_digit.png"],
    "vision_cls": vision_expected["cls"]["kitten.jpg"],
}
for m in ("mnist_tiny", "greedy_time", "mnist"):
    expected[m] = python_expected[m]["body"]


def expected_answer(m, answer):
    if m == "digits":
        got = json.loads(answer)
        return len(got) == len(digits_expected) and all(
            abs(a - b) <= 1e-4 for a, b in zip(got, digits_expected))
    return answer == expected[m].encode()


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
    n = n_cnn if m in cnn else n_tensor
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
            if not expected_answer(m, answer):
                print("%s: the first answer is not the fixtures' %r" % (
                    m, answer[:200]))
                bad += 1
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

echo "$REQ_RC" > "$RESULTS/requests.rc"
fi

"$PY" - "$RESULTS" "$REQ_RC" "$MODELS" <<'EOF'
import glob, os, re, sys

d, req_rc, models = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ours = re.compile(r"\b(ngx_http_torchserve\w*|ts_\w+|tsc_\w+) \(")
alloc = re.compile(r"\b(malloc|calloc|realloc|memalign|posix_memalign|"
                   r"operator new\S*|aligned_alloc) \(")
out = ["# bench/valgrind_serve.sh: %s\n" % models,
       open(os.path.join(d, "requests.txt")).read().strip(), "",
       "| process | errors | definitely lost | indirectly lost | "
       "possibly lost | still reachable | records of ours | most blocks "
       "in a record |", "|---|---|---|---|---|---|---|---|"]
bad = req_rc != 0
detail = []
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
    # a record: "N bytes in M blocks are definitely lost ..." and its stack
    records = re.findall(r"==\d+== ([\d,]+) (?:\([^)]*\) )?bytes in "
                         r"([\d,]+) blocks are definitely lost[^\n]*\n"
                         r"((?:==\d+== +(?:at|by) [^\n]*\n)+)", text)
    mine, most = 0, 0
    for size, blocks, stack in records:
        frames = [l.split(": ", 1)[-1].strip()
                  for l in stack.strip().split("\n")]
        under = [x for x in frames if not alloc.search(x)]
        is_ours = any(ours.search(x) for x in under[:3])
        nblocks = int(blocks.replace(",", ""))
        mine += is_ours
        most = max(most, nblocks)
        detail.append("- %s: %s B in %s block(s)%s; %s" % (
            os.path.basename(f), size, blocks, " **ours**" if is_ours else "",
            " < ".join(under[:4])))
    # memory errors (leaks are not counted: --errors-for-leak-kinds=none)
    other = int(errors[-1]) if errors else 0
    bad |= other > 0 or mine > 0 or most >= 100
    out.append("| %s | %d | %s | %s | %s | %s | %d | %d |" % (
        os.path.basename(f), other, kinds["definitely"], kinds["indirectly"],
        kinds["possibly"], kinds["reachable"], mine, most))
if detail:
    out.append("\nDefinitely lost records (first frames under the "
               "allocator):\n")
    out.extend(detail)
out.append("\nresult: %s" % ("FAIL" if bad else "PASS"))
text = "\n".join(out) + "\n"
open(os.path.join(d, "summary.md"), "w").write(text)
print(text)
sys.exit(1 if bad else 0)
EOF
