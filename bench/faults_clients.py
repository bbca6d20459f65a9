#!/usr/bin/python3
"""The faults of bench/faults.sh, one subcommand each, every one bounded
in time and writing its figures as JSON (--out). Standard library only.

  make-archives STORE          garbage.mar (random bytes) and badload.mar
                               (digits.mar whose TorchScript data.pkl is
                               corrupt: it passes the registration's checks
                               and fails at load)
  chaos      nginx -s reload every --reload-every s, SIGKILL of one serving
             worker process every --kill-every s (from --kill-offset on),
             the worker processes counted every 0.5 s
  probe      --conns keep-alive connections posting to one model: every
             failure with the worker process that answered the
             connection's last request, for faults_check.py to attribute
  cycle      register / scale 0 / scale 1 / unregister of a third model in
             a loop, a prediction after each step, and every --fail-every
             turns a registration that fails (garbage.mar: 400,
             badload.mar: 500 at load); leaves the third model unregistered
  garbage    --count random and malformed requests, one connection each
  slow       clients that send the headers and half the body (or half the
             headers) and stall: nginx must close them after its timeout
  oversized  bodies above client_max_body_size: 413 expected
  wrk        a fixed number of requests through wrk (bench/faults.lua)
  memphase   fixed numbers of requests to one model through wrk, the worker
             processes' USS and fd count sampled after each step
"""

import argparse
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import faults_http as fh      # noqa: E402
import faults_proc as fp      # noqa: E402


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.rename(tmp, path)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def count(d, key, n=1):
    key = str(key)
    d[key] = d.get(key, 0) + n


# ---------------------------------------------------------------- archives

def make_archives(args):
    rng = random.Random(args.seed)
    with open(os.path.join(args.store, "garbage.mar"), "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(4096)))
    src = zipfile.ZipFile(args.digits)
    pt = zipfile.ZipFile(io.BytesIO(src.read("digits.pt")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name in pt.namelist():
            data = pt.read(name)
            if name.endswith("/data.pkl"):
                data = b"\x80\x02garbage" + data[10:]
            z.writestr(name, data)
    with zipfile.ZipFile(os.path.join(args.store, "badload.mar"), "w") as m:
        for name in src.namelist():
            data = src.read(name)
            if name == "digits.pt":
                data = out.getvalue()
            elif name.endswith("MANIFEST.json"):
                man = json.loads(data)
                man["model"]["modelName"] = "badload"
                data = json.dumps(man, indent=2).encode()
            m.writestr(name, data)


# ------------------------------------------------------------------- chaos

def chaos(args):
    rng = random.Random(args.seed)
    ports = set(args.ports)
    master = fp.master_pid(args.prefix)
    t0 = time.time()
    end = t0 + args.duration
    next_reload = t0 + args.reload_every
    next_kill = t0 + args.kill_offset
    next_sample = t0
    res = {"master": master, "reloads": [], "kills": [], "max_workers": 0,
           "samples": [], "t0": t0}
    while True:
        now = time.time()
        if now >= end:
            break
        if now >= next_sample:
            ws = fp.workers(master)
            res["max_workers"] = max(res["max_workers"], len(ws))
            res["samples"].append([round(now - t0, 2), len(ws)])
            next_sample += 0.5
        if now >= next_kill:
            # a serving one; else one still starting (in init_process,
            # loading its models: it has the master's title until then)
            current = fp.workers(master, serving_only=True)
            serving = [p for p in current
                       if fp.cmdline(p).endswith("worker process")] \
                or current
            if serving:
                pid = rng.choice(serving)
                conns = fp.established(pid, ports)
                try:
                    os.kill(pid, signal.SIGKILL)
                    res["kills"].append({"t": time.time(), "pid": pid,
                                         "conns": conns,
                                         "starting": pid not in [
                                             p for p in current if
                                             fp.cmdline(p).endswith(
                                                 "worker process")]})
                except OSError as e:
                    res["kills"].append({"t": time.time(), "pid": pid,
                                         "error": str(e)})
            next_kill += args.kill_every
        if now >= next_reload:
            old = fp.workers(master)
            conns = sum(fp.established(p, ports) for p in old)
            t = time.time()
            try:
                p = subprocess.run([args.nginx, "-p", args.prefix, "-c",
                                    args.conf, "-s", "reload"],
                                   capture_output=True, timeout=20)
                rc, err = p.returncode, p.stderr.decode(errors="replace")
            except subprocess.TimeoutExpired:
                rc, err = -1, "timeout"
            res["reloads"].append({"t": t, "rc": rc, "old": old,
                                   "conns": conns,
                                   "stderr": err.strip()[-300:]})
            next_reload += args.reload_every
        time.sleep(0.05)
    res["t_end"] = time.time()
    write_json(args.out, res)


# ------------------------------------------------------------------- probe

def probe(args):
    body = read_file(args.body)
    headers = {"Content-Type": args.ctype}
    end = time.time() + args.duration
    lock = threading.Lock()
    res = {"statuses": {}, "failures": [], "by_pid": {}, "requests": 0}

    def run():
        conn = fh.KeepAlive(args.port, timeout=args.timeout)
        while time.time() < end:
            reply, failure = conn.request("POST", args.path, body, headers)
            with lock:
                res["requests"] += 1
                if reply is not None:
                    count(res["statuses"], reply.status)
                    count(res["by_pid"], reply.pid)
                else:
                    res["failures"].append(failure)
            if args.pause:
                time.sleep(args.pause)
        conn.close()

    threads = [threading.Thread(target=run) for _ in range(args.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    write_json(args.out, res)


# ------------------------------------------------------------------- cycle

def cycle(args):
    body = read_file(args.body)
    mgmt, inf, name = args.mgmt, args.inf, args.name
    res = {"turns": 0, "steps": {}, "unexpected": [], "cuts": [],
           "predictions": {}, "failing_loads": [], "final": {}}
    expect_pred = {"register": 200, "scale0": 503, "scale1": 200,
                   "unregister": 404}

    def call(method, path, timeout=60.0):
        reply, err = fh.try_request(mgmt, method, path, timeout=timeout)
        return reply, err

    def state():
        """absent, or the third model's minWorkers; None if unknown."""
        for _ in range(10):
            reply, _ = call("GET", "/models/%s" % name)
            if reply is None:
                time.sleep(0.3)
                continue
            if reply.status == 404:
                return "absent"
            if reply.status == 200:
                return "workers%d" % reply.json()[0]["minWorkers"]
            time.sleep(0.3)
        return None

    def predict(step):
        reply, err = fh.try_request(inf, "POST", "/predictions/" + name,
                                    body,
                                    {"Content-Type": "application/json"},
                                    timeout=60.0)
        status = reply.status if reply is not None else "cut"
        count(res["predictions"], "%s:%s" % (step, status))
        if reply is not None and status != expect_pred[step]:
            res["unexpected"].append({"t": time.time(), "what": "predict",
                                      "step": step, "status": status,
                                      "pid": reply.pid,
                                      "body": reply.body[:200].decode(
                                          errors="replace")})
        if reply is None:
            res["cuts"].append({"t": time.time(), "what": "predict " + step,
                                "error": err})

    steps = {
        "register": ("POST", "/models?url=%s&model_name=%s&initial_workers=1"
                     "&synchronous=true" % (args.url, name)),
        "scale0": ("PUT", "/models/%s?min_worker=0&synchronous=true" % name),
        "scale1": ("PUT", "/models/%s?min_worker=1&synchronous=true" % name),
        "unregister": ("DELETE", "/models/%s" % name),
    }
    order = ["register", "scale0", "scale1", "unregister"]
    after = {"absent": "register", "workers1": "scale0",
             "workers0": "scale1"}
    st = state()
    nxt = "register" if st == "absent" else after.get(st, "unregister")
    end = time.time() + args.duration
    turn = 0
    while time.time() < end:
        method, path = steps[nxt]
        t = time.time()
        reply, err = call(method, path)
        if reply is None:
            # the worker process that had the request died (or closed):
            # where the registry stands decides the next step
            res["cuts"].append({"t": t, "t_fail": time.time(), "what": nxt,
                                "error": err})
            st = state()
            nxt = after.get(st, "unregister") if st else "unregister"
            continue
        count(res["steps"], "%s:%d" % (nxt, reply.status))
        if reply.status != 200:
            res["unexpected"].append({"t": t, "what": nxt,
                                      "status": reply.status,
                                      "pid": reply.pid,
                                      "body": reply.body[:300].decode(
                                          errors="replace")})
            st = state()
            nxt = after.get(st, "unregister") if st else "unregister"
            time.sleep(0.2)
            continue
        predict(nxt)
        i = order.index(nxt)
        nxt = order[(i + 1) % len(order)]
        if nxt == "register":
            turn += 1
            res["turns"] = turn
            if args.fail_every and turn % args.fail_every == 0:
                failing_load(res, call, turn)
        time.sleep(args.pause)

    # leave the third model unregistered, whatever the last step was
    deadline = time.time() + 60
    while time.time() < deadline:
        st = state()
        if st == "absent":
            break
        if st == "workers1" or st == "workers0":
            call("DELETE", "/models/%s" % name)
        time.sleep(0.2)
    res["final"]["third"] = state()
    write_json(args.out, res)


def failing_load(res, call, turn):
    """A registration that must fail cleanly, the name never listed."""
    url, mname, status = (("garbage.mar", "garbage", 400) if turn % 2
                          else ("badload.mar", "badload", 500))
    t_start = time.time()
    reply, err = call("POST", "/models?url=%s&initial_workers=1"
                      "&synchronous=true" % url)
    rec = {"url": url, "expected": status, "t_start": t_start,
           "t": time.time()}
    if reply is None:
        rec.update(status="cut", error=err)
    else:
        rec["status"] = reply.status
        try:
            j = reply.json()
            rec["json"] = isinstance(j, dict) and "code" in j \
                and "message" in j
            rec["message"] = j.get("message", "")[:200]
        except (ValueError, AttributeError):
            rec["json"] = False
            rec["message"] = reply.body[:200].decode(errors="replace")
    # the name must not be left in the registry
    desc, _ = call("GET", "/models/%s" % mname)
    rec["after"] = desc.status if desc is not None else "cut"
    res["failing_loads"].append(rec)


# ----------------------------------------------------------------- garbage

VALID_PATHS = ["/predictions/digits", "/v1/models/digits:predict",
               "/v2/models/digits/infer", "/ping", "/explanations/digits",
               "/api-description", "/"]


def garbage_payloads(rng, n, bodies, py_path):
    """n (category, bytes) pairs."""
    digits_body = bodies[0]
    valid = (b"POST /predictions/digits HTTP/1.1\r\nHost: x\r\n"
             b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
             % len(digits_body)) + digits_body

    def rnd(k):
        return bytes(rng.randrange(256) for _ in range(k))

    def printable(k):
        return bytes(rng.randrange(32, 127) for _ in range(k))

    def mutate(data):
        data = bytearray(data)
        for _ in range(rng.randrange(1, 12)):
            op = rng.randrange(3)
            i = rng.randrange(len(data))
            if op == 0:
                data[i] = rng.randrange(256)
            elif op == 1:
                data[i:i] = rnd(rng.randrange(1, 8))
            else:
                del data[i:i + rng.randrange(1, 8)]
        return bytes(data)

    def with_body(path, body, ctype="application/json", extra=b""):
        return (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n%s"
                b"Content-Length: %d\r\n\r\n" % (path.encode(),
                                                 ctype.encode(), extra,
                                                 len(body))) + body

    def junk_body():
        kind = rng.randrange(6)
        if kind == 0:
            return rnd(rng.randrange(1, 3000))
        if kind == 1:     # JSON-looking
            return printable(rng.randrange(1, 300)).replace(b"\\", b"[")
        if kind == 2:     # deep nesting
            d = rng.randrange(1, 5000)
            return b"[" * d + b"1" + b"]" * rng.randrange(0, d + 1)
        if kind == 3:     # numbers of the wrong shape or kind
            return json.dumps([rng.choice([1e308, -1e308, 0, "x", None,
                                           [1, 2], {"a": 1}])
                               for _ in range(rng.randrange(0, 200))]
                              ).encode()
        if kind == 4:     # a valid body, damaged
            return mutate(rng.choice(bodies))
        return json.dumps({"data": printable(50).decode(),
                           "inputs": [{"name": "x", "shape": [1, 64],
                                       "datatype": rng.choice(
                                           ["FP32", "INT64", "BYTES",
                                            "BOGUS"]),
                                       "data": [1] * rng.randrange(0, 70)}]
                           }).encode()

    makers = [
        ("random+crlf", lambda: rnd(rng.randrange(1, 4096)) + b"\r\n\r\n"),
        ("random-no-end", lambda: rnd(rng.randrange(1, 512))),
        ("mutated", lambda: mutate(valid)),
        ("request-line", lambda: b"%s %s %s\r\nHost: x\r\n\r\n" % (
            rng.choice([b"GET", b"POST", b"PUT", b"DELETE", b"FOO",
                        printable(rng.randrange(1, 20))]),
            rng.choice([b"/" + printable(rng.randrange(0, 200)),
                        b"/predictions/" + rnd(20),
                        b"/predictions/../../etc/passwd",
                        b"/predictions/%00", b"*",
                        b"http://x" + printable(30)]),
            rng.choice([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9.9", b"HTTP/1",
                        b"", printable(8)]))),
        ("big-header", lambda: b"GET /ping HTTP/1.1\r\nHost: x\r\nX-A: "
         + b"a" * rng.choice([9000, 33000, 70000]) + b"\r\n\r\n"),
        ("many-headers", lambda: b"GET /ping HTTP/1.1\r\nHost: x\r\n"
         + b"".join(b"X-%d: %s\r\n" % (i, printable(40))
                    for i in range(rng.randrange(100, 2000))) + b"\r\n"),
        ("framing", lambda: rng.choice([
            b"POST /predictions/digits HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + rnd(10)
            + b"\r\n0\r\n\r\n",
            b"POST /predictions/digits HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nab\r\n",
            b"POST /predictions/digits HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: -5\r\n\r\nabc",
            b"POST /predictions/digits HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
            b"POST /predictions/digits HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n",
            b"POST /predictions/digits HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 99999999999999999999999\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + rnd(30),
            b"GET /ping\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rnd(200),
        ])),
        ("bad-body", lambda: with_body(rng.choice(VALID_PATHS[:3]
                                                  + [py_path]),
                                       junk_body(),
                                       rng.choice(["application/json",
                                                   "image/png",
                                                   "application/octet-stream",
                                                   "text/plain"]))),
        ("kserve-v2-binary", lambda: with_body(
            "/v2/models/digits/infer", junk_body(),
            "application/octet-stream",
            b"Inference-Header-Content-Length: %d\r\n"
            % rng.choice([0, 1, 10, 100, 10 ** 6, 2 ** 63 - 1]))),
    ]
    weights = [12, 5, 20, 12, 4, 3, 6, 30, 8]
    out = []
    for _ in range(n):
        cat, make = rng.choices(makers, weights)[0]
        out.append((cat, make()))
    return out


def garbage(args):
    rng = random.Random(args.seed)
    bodies = [read_file(p) for p in args.bodies]
    payloads = garbage_payloads(rng, args.count, bodies, args.py_path)
    res = {"count": len(payloads), "seed": args.seed, "by_category": {},
           "statuses": {}, "unexpected": [], "timeouts": [], "max_s": 0.0,
           "allowed_5xx": {},
           "timeout_s": args.timeout}
    lock = threading.Lock()
    queue = list(enumerate(payloads))

    def one(i, cat, data):
        t = time.time()
        outcome = None
        reply_pid = None
        body = b""
        try:
            sock = socket.create_connection(("127.0.0.1", args.port),
                                            timeout=args.timeout)
        except OSError as e:
            return "connect-" + type(e).__name__, None, b"", 0.0
        try:
            # stays open for reading; random-no-end waits less: nginx
            # waits client_header_timeout for the rest of the headers
            sock.settimeout(0.5 if cat == "random-no-end" else args.timeout)
            try:
                sock.sendall(data)
            except OSError:
                pass        # nginx answered and closed before the end
            try:
                reply = fh.read_reply(sock)
                outcome = reply.status
                reply_pid = reply.pid
                body = reply.body
            except fh.Cut as e:
                outcome = "no-answer-" + ("timeout" if e.what == "timeout"
                                          else "closed")
        finally:
            sock.close()
        return outcome, reply_pid, body, time.time() - t

    def run():
        while True:
            with lock:
                if not queue:
                    return
                i, (cat, data) = queue.pop()
            outcome, pid, body, dt = one(i, cat, data)
            with lock:
                res["max_s"] = max(res["max_s"], dt)
                c = res["by_category"].setdefault(cat, {})
                count(c, outcome)
                count(res["statuses"], outcome)
                # 5xx: only a Python handler failing on a junk body may
                # answer one (TorchServe's 503 for an exception in handle())
                if outcome == "no-answer-timeout" and len(
                        res["timeouts"]) < 20:
                    res["timeouts"].append({
                        "i": i, "category": cat, "s": round(dt, 2),
                        "request": data[:160].decode("latin-1")})
                if isinstance(outcome, int) and outcome >= 500:
                    # nginx's own 505 for an HTTP major version above 1;
                    # a Python handler's 503 for an exception in handle()
                    # /ping's 500 "Unhealthy" while a process loads the
                    # registry loop's third model (TorchServe's rule: a
                    # model short of its workers makes the server unhealthy)
                    allowed = (outcome == 505 and b"nginx/" in body) or (
                        outcome == 503 and cat == "bad-body"
                        and args.py_path.encode() in data[:200]) or (
                        outcome == 500 and b"Unhealthy" in body
                        and data.startswith(b"GET /ping "))
                    if allowed:
                        count(res["allowed_5xx"], "%d %s" % (outcome, cat))
                    else:
                        res["unexpected"].append({
                            "i": i, "category": cat, "status": outcome,
                            "pid": pid, "request": data[:300].decode(
                                "latin-1"),
                            "answer": body[:300].decode(errors="replace")})

    threads = [threading.Thread(target=run) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    write_json(args.out, res)


# -------------------------------------------------------------------- slow

def slow(args):
    body = read_file(args.body)
    res = {"rounds": [], "expect_s": args.expect}

    def body_stall(out):
        head = (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
                b"Content-Length: %d\r\n\r\n" % (args.path.encode(),
                                                 args.ctype.encode(),
                                                 len(body)))
        stall(out, "half-body", head + body[:len(body) // 2])

    def header_stall(out):
        stall(out, "half-headers",
              b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Ty" %
              args.path.encode())

    def stall(out, kind, data):
        t = time.time()
        rec = {"kind": kind}
        try:
            sock = socket.create_connection(("127.0.0.1", args.port),
                                            timeout=args.expect + 20)
            sock.sendall(data)
            got = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    rec["outcome"] = "still-open"
                    break
                except OSError as e:
                    rec["outcome"] = "reset-" + type(e).__name__
                    break
                if not chunk:
                    rec["outcome"] = "closed"
                    break
                got += chunk
            sock.close()
            rec["answer"] = got[:12].decode("latin-1")
        except OSError as e:
            rec["outcome"] = "error-" + type(e).__name__
        rec["s"] = round(time.time() - t, 2)
        out.append(rec)

    for r in range(args.rounds):
        if r:
            time.sleep(args.every)
        out = []
        threads = []
        for i in range(args.clients):
            target = body_stall if i % 2 == 0 else header_stall
            threads.append(threading.Thread(target=target, args=(out,)))
        for t in threads:
            t.start()
        # meanwhile a normal request must be answered at once
        t = time.time()
        reply, err = fh.try_request(args.port, "POST", args.path, body,
                                    {"Content-Type": args.ctype},
                                    timeout=30)
        side = {"status": reply.status if reply else err,
                "s": round(time.time() - t, 3)}
        for t in threads:
            t.join()
        res["rounds"].append({"t": time.time(), "clients": out,
                              "meanwhile": side})
    write_json(args.out, res)


# --------------------------------------------------------------- oversized

def oversized(args):
    res = {"sent": 0, "statuses": {}, "unexpected": []}
    end = time.time() + args.duration
    paths = args.paths
    i = 0
    while i < args.count and time.time() < end + 30:
        path = paths[i % len(paths)]
        size = args.limit + 1 + (i * 7919) % args.limit
        chunked = i % 2 == 1
        t = time.time()
        try:
            sock = socket.create_connection(("127.0.0.1", args.port),
                                            timeout=30)
            if chunked:
                head = (b"POST %s HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n" % path.encode())
            else:
                head = (b"POST %s HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n" % (path.encode(), size))
            sock.sendall(head)
            chunk = b"1" * 65536
            sent = 0
            try:
                while sent < size:
                    piece = chunk[:min(len(chunk), size - sent)]
                    if chunked:
                        sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    else:
                        sock.sendall(piece)
                    sent += len(piece)
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass      # the 413 came first and nginx stopped reading
            try:
                reply = fh.read_reply(sock)
                status = reply.status
            except fh.Cut as e:
                status = "no-answer-" + e.what
            sock.close()
        except OSError as e:
            status = "error-" + type(e).__name__
        res["sent"] += 1
        count(res["statuses"], status)
        if status != 413:
            res["unexpected"].append({"i": i, "path": path, "size": size,
                                      "chunked": chunked, "status": status,
                                      "s": round(time.time() - t, 2)})
        i += 1
        # spread the rest over what is left of the duration
        left = end - time.time()
        if left > 0 and i < args.count:
            time.sleep(min(left / (args.count - i), 2.0))
    write_json(args.out, res)


# --------------------------------------------------------------- memphase

def run_wrk(url, lua, body, ctype, n, threads=2, conns=32, max_seconds=600):
    """wrk for n requests (n // threads per thread): bench/faults.lua stops
    each thread at its count and says so in a file; wrk, which would run
    its whole -d, then gets SIGINT, on which it prints its summary.
    Returns ({RESULT fields}, {status: count}, wrk's output)."""
    fd, stop_file = tempfile.mkstemp(prefix="faults-wrk-")
    os.close(fd)
    env = dict(os.environ, BODY=body, CTYPE=ctype,
               STOP_AFTER=str(max(1, n // threads)), STOP_FILE=stop_file)
    p = subprocess.Popen(["wrk", "-t%d" % threads, "-c%d" % conns,
                          "-d%ds" % max_seconds, "--timeout", "20s",
                          "-s", lua, url], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    deadline = time.time() + max_seconds + 30
    try:
        while p.poll() is None and time.time() < deadline:
            with open(stop_file) as f:
                if len(f.read().split()) >= threads:
                    p.send_signal(signal.SIGINT)
                    break
            time.sleep(0.05)
        out = p.communicate(timeout=60)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        p.kill()
        out = p.communicate()[0].decode(errors="replace")
    finally:
        os.unlink(stop_file)
    result, statuses = {}, {}
    for text in out.splitlines():
        if text.startswith("RESULT "):
            result = dict(kv.split("=") for kv in text.split()[1:])
        elif text.startswith("STATUS "):
            for kv in text.split()[1:]:
                s, c = kv.split("=")
                statuses[s] = int(c)
    return result, statuses, out


def wrk_count(args):
    result, statuses, out = run_wrk(
        "http://127.0.0.1:%d%s" % (args.port, args.path), args.lua,
        args.body, args.ctype, args.requests, args.threads, args.conns,
        args.max_seconds)
    sys.stdout.write("".join(line + "\n" for line in out.splitlines()
                             if line.startswith(("RESULT", "STATUS"))))
    return 0 if result else 1


def memphase(args):
    """wrk to one model, args.steps steps of requests/steps each after a
    warm-up of args.warmup; the worker processes sampled after each."""
    master = fp.master_pid(args.prefix)
    url = "http://127.0.0.1:%d%s" % (args.port, args.path)
    res = {"model": args.model, "requests": args.requests,
           "warmup": args.warmup, "samples": [], "wrk": [],
           "statuses": {}, "errors": 0}

    def step_wrk(n):
        line, statuses, _ = run_wrk(url, args.lua, args.body, args.ctype, n,
                                    args.threads, args.conns,
                                    args.max_seconds)
        res["wrk"].append(line)
        for s, c in statuses.items():
            count(res["statuses"], s, c)
        res["errors"] += sum(int(line.get(k, 0)) for k in
                             ("connect", "read", "write", "timeout"))
        return line

    def sample(done):
        ws = fp.workers(master)
        res["samples"].append({"requests": done, "t": time.time(),
                               "workers": [fp.snapshot(p) for p in ws]})

    if args.warmup:
        step_wrk(args.warmup)
    sample(0)
    step = args.requests // args.steps
    done = 0
    for _ in range(args.steps):
        line = step_wrk(step)
        done += int(line.get("requests", 0))
        sample(done)
    write_json(args.out, res)


# -------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.
                                 RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("make-archives")
    p.add_argument("store")
    p.add_argument("--digits", required=True)
    p.add_argument("--seed", type=int, default=16)
    p.set_defaults(fn=make_archives)

    p = sub.add_parser("chaos")
    p.add_argument("--nginx", default="/usr/sbin/nginx")
    p.add_argument("--prefix", required=True)
    p.add_argument("--conf", required=True)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--reload-every", type=float, default=3)
    p.add_argument("--kill-every", type=float, default=10)
    p.add_argument("--kill-offset", type=float, default=5)
    p.add_argument("--ports", type=int, nargs="+", required=True)
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=chaos)

    p = sub.add_parser("probe")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--ctype", default="application/json")
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--pause", type=float, default=0.005)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=probe)

    p = sub.add_parser("cycle")
    p.add_argument("--mgmt", type=int, required=True)
    p.add_argument("--inf", type=int, required=True)
    p.add_argument("--url", default="digits_v2.mar")
    p.add_argument("--name", default="third")
    p.add_argument("--body", required=True)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--fail-every", type=int, default=3)
    p.add_argument("--pause", type=float, default=0.1)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cycle)

    p = sub.add_parser("garbage")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--bodies", nargs="+", required=True)
    p.add_argument("--py-path", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=garbage)

    p = sub.add_parser("slow")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--ctype", default="application/json")
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--every", type=float, default=12)
    p.add_argument("--expect", type=float, default=5)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=slow)

    p = sub.add_parser("oversized")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--paths", nargs="+", required=True)
    p.add_argument("--count", type=int, default=40)
    p.add_argument("--limit", type=int, default=1 << 20)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=oversized)

    p = sub.add_parser("wrk")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--ctype", default="application/json")
    p.add_argument("--lua", required=True)
    p.add_argument("--requests", type=int, required=True)
    p.add_argument("--conns", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-seconds", type=int, default=180)
    p.set_defaults(fn=wrk_count)

    p = sub.add_parser("memphase")
    p.add_argument("--prefix", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--ctype", default="application/json")
    p.add_argument("--lua", required=True)
    p.add_argument("--requests", type=int, default=200000)
    p.add_argument("--warmup", type=int, default=20000)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--conns", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-seconds", type=int, default=300)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=memphase)

    args = ap.parse_args()
    sys.exit(args.fn(args) or 0)


if __name__ == "__main__":
    main()
