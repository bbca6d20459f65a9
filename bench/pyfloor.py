#!/usr/bin/python3
"""pyfloor.py: the Python floor for bench/run.sh: a Python handler's
handle() in a loop, through our ts package's glue (ts._embed), with no
server around it.

    pyfloor.py MAR BODY CONTENT_TYPE SECONDS [PROCESSES]
    pyfloor.py --answer MAR BODY CONTENT_TYPE OUT

MAR is unpacked (zipfile) into a temporary folder; PROCESSES (default: one
per core) plain /usr/bin/python3 processes each load it once with
ts._embed.load(dir, handler, 1, 1, None, name, version), with
torch.set_num_threads(1), warm up, wait for all the others, then call
service.handle([(id, body, [("Content-Type", type)], False,
"/predictions/NAME")]) in a loop for SECONDS. Prints one line, calls/s
summed over the processes, latencies per call over all of them:
    pyfloor processes=P calls=N seconds=S rps=R p50_ms=A p99_ms=B
malloc is tuned as the module's workers tune it (torchserve_malloc_keep
64m), through glibc's variables in the processes' environment.

--answer: one process, one call; writes the answer's body to OUT (what
every server must answer), exit 1 unless its status is 200."""

import array
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.join(os.path.dirname(HERE), "runtime", "python")
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432",
          "MALLOC_TRIM_THRESHOLD_": "67108864",
          "MALLOC_TOP_PAD_": "67108864"}
WARMUP = 20


def unpack(mar, into):
    with zipfile.ZipFile(mar) as z:
        z.extractall(into)


def load(model_dir):
    """(service, url path) of the archive unpacked in model_dir"""
    sys.path.insert(0, PYTHON_DIR)
    import torch

    torch.set_num_threads(1)
    import ts._embed

    ours = os.path.join(PYTHON_DIR, "ts")
    if os.path.dirname(os.path.realpath(ts._embed.__file__)) != \
            os.path.realpath(ours):
        sys.exit("pyfloor: ts is %s, not ours" % ts._embed.__file__)
    with open(os.path.join(model_dir, "MAR-INF", "MANIFEST.json")) as f:
        model = json.load(f)["model"]
    name = model["modelName"]
    svc = ts._embed.load(model_dir, model["handler"], 1, 1, None, name,
                         model.get("modelVersion") or "1.0")
    return svc, "/predictions/" + name


def call(svc, path, body, ctype, n):
    status, _phrase, answer, _type, _headers = svc.handle(
        [("pyfloor-%d" % n, body, [("Content-Type", ctype)], False,
          path)])[0]
    return status, answer


def child(model_dir, body_file, ctype, seconds, out):
    """one process of the floor: ready, wait for "go", loop, latencies"""
    with open(body_file, "rb") as f:
        body = f.read()
    svc, path = load(model_dir)
    for n in range(WARMUP):
        status, answer = call(svc, path, body, ctype, n)
        if status != 200:
            sys.exit("pyfloor: status %d: %r" % (status, answer[:200]))
    print("ready", flush=True)
    sys.stdin.readline()
    lat = array.array("d")
    clock = time.perf_counter
    n = 0
    start = clock()
    end = start + seconds
    t0 = start
    while t0 < end:
        call(svc, path, body, ctype, n)
        t1 = clock()
        lat.append((t1 - t0) * 1000.0)
        t0 = t1
        n += 1
    elapsed = t0 - start
    with open(out, "wb") as f:
        lat.tofile(f)
    print("done %d %.6f" % (n, elapsed), flush=True)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))
    return sorted_values[i]


def floor(mar, body_file, ctype, seconds, processes):
    work = tempfile.mkdtemp(prefix="pyfloor.")
    try:
        model_dir = os.path.join(work, "model")
        unpack(mar, model_dir)
        env = dict(os.environ, **MALLOC)
        kids = []
        for i in range(processes):
            kids.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--child",
                 model_dir, body_file, ctype, str(seconds),
                 os.path.join(work, "lat.%d" % i)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                text=True))
        for k in kids:
            if k.stdout.readline().strip() != "ready":
                sys.exit("pyfloor: a process failed to load")
        for k in kids:     # all start together
            k.stdin.write("go\n")
            k.stdin.flush()
        # for a profiler that waits for the loop (bench/pyprofile.sh)
        print("pyfloor: go", file=sys.stderr, flush=True)
        rps = 0.0
        calls = 0
        longest = 0.0
        lat = array.array("d")
        for i, k in enumerate(kids):
            line = k.stdout.readline().split()
            if k.wait() != 0 or len(line) != 3 or line[0] != "done":
                sys.exit("pyfloor: a process failed")
            n, elapsed = int(line[1]), float(line[2])
            calls += n
            rps += n / elapsed if elapsed > 0 else 0.0
            longest = max(longest, elapsed)
            with open(os.path.join(work, "lat.%d" % i), "rb") as f:
                lat.frombytes(f.read())
        v = sorted(lat)
        print("pyfloor processes=%d calls=%d seconds=%.3f rps=%.1f "
              "p50_ms=%.3f p99_ms=%.3f" % (processes, calls, longest, rps,
                                           percentile(v, 50),
                                           percentile(v, 99)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def answer(mar, body_file, ctype, out):
    work = tempfile.mkdtemp(prefix="pyfloor.")
    try:
        model_dir = os.path.join(work, "model")
        unpack(mar, model_dir)
        with open(body_file, "rb") as f:
            body = f.read()
        svc, path = load(model_dir)
        status, text = call(svc, path, body, ctype, 0)
        with open(out, "wb") as f:
            f.write(text)
        if status != 200:
            sys.exit("pyfloor: status %d: %r" % (status, text[:200]))
        print("pyfloor: %s answers %r" % (path, text[:80].decode(
            "utf-8", "replace")))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    if argv[:1] == ["--child"] and len(argv) == 6:
        child(argv[1], argv[2], argv[3], float(argv[4]), argv[5])
    elif argv[:1] == ["--answer"] and len(argv) == 5:
        answer(*argv[1:5])
    elif len(argv) in (4, 5):
        floor(argv[0], argv[1], argv[2], float(argv[3]),
              int(argv[4]) if len(argv) == 5 else os.cpu_count())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
