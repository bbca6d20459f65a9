#!/usr/bin/python3
"""pymem.py: a Python handler's memory over time without a server: its
handle() called in a loop through our ts package's glue (ts._embed, as
bench/pyfloor.py), the process's USS and private dirty memory after each
tenth of the calls. It tells what of a worker process's USS growth under
bench/faults.sh's memory phase the interpreter, the handler and its
libraries cause by themselves, without nginx or our C code around them.

    pymem.py MAR BODY CONTENT_TYPE [CALLS [WARMUP]]

CALLS (200000) after WARMUP (20000) calls; malloc as pyfloor.py tunes it
(the module's torchserve_malloc_keep 64m) unless MALLOC=default. Prints
one line: the USS after the warm-up, its growth and the private dirty
pages' after each tenth (MB; see memory_mb for why both), the Python
objects the collector tracks before and after, and the bytes tracemalloc
sees allocated and still live over one more tenth (small and flat: the
growth is not Python objects)."""

import gc
import os
import sys
import tempfile
import time
import tracemalloc

import faults_proc
import pyfloor


def memory_mb():
    """(USS, private dirty) of this process in MB. USS also counts a
    shared library's pages once the last other process mapping them has
    gone (another torch process exiting adds ~115 MB of libtorch's to
    it); the dirty pages are this process's own writes alone."""
    clean, dirty = faults_proc.private_kb(os.getpid())
    return (clean + dirty) / 1024.0, dirty / 1024.0


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    mar, body_file, ctype = sys.argv[1:4]
    calls = int(sys.argv[4]) if len(sys.argv) > 4 else 200000
    warmup = int(sys.argv[5]) if len(sys.argv) > 5 else 20000
    if os.environ.get("MALLOC") != "default" and \
            "MALLOC_TOP_PAD_" not in os.environ:
        # glibc reads its variables at start: run again with them
        os.environ.update(pyfloor.MALLOC)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    with open(body_file, "rb") as f:
        body = f.read()
    work = tempfile.mkdtemp(prefix="pymem.")
    model_dir = os.path.join(work, "model")
    pyfloor.unpack(mar, model_dir)
    svc, path = pyfloor.load(model_dir)
    for n in range(warmup):
        status, answer = pyfloor.call(svc, path, body, ctype, n)
        if status != 200:
            sys.exit("pymem: status %d: %r" % (status, answer[:200]))
    gc.collect()
    objects0, base, start = len(gc.get_objects()), memory_mb(), time.time()
    growth, dirty = [], []
    for step in range(10):
        for n in range(calls // 10):
            pyfloor.call(svc, path, body, ctype, n)
        now = memory_mb()
        growth.append("%.2f" % (now[0] - base[0]))
        dirty.append("%.2f" % (now[1] - base[1]))
    gc.collect()
    objects1 = len(gc.get_objects())
    # then one more tenth traced (tracemalloc's own tables grow the USS)
    tracemalloc.start()
    for n in range(calls // 10):
        pyfloor.call(svc, path, body, ctype, n)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print("pymem %s: USS %.1f MB after %d calls; growth after each tenth of "
          "%d: USS %s MB, private dirty %s MB; %.0f s; gc objects %d -> %d; "
          "Python allocations live after one more tenth: %d B; malloc %s" % (
              os.path.basename(mar), base[0], warmup, calls,
              " ".join(growth), " ".join(dirty),
              time.time() - start, objects0, objects1, traced,
              "default" if os.environ.get("MALLOC") == "default"
              else "tuned (64m)"))


if __name__ == "__main__":
    main()
