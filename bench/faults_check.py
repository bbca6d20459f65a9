#!/usr/bin/python3
"""The checks of bench/faults.sh (standard library only).

  snapshot  the master and its worker processes (USS, RSS, fd count), the
            shared zone's slab pool (free pages, per slot), the Python
            models' private folders under the temp path
  settle    wait until exactly --want worker processes serve (none shutting
            down, none just forked) and have loaded every model
  health    /ping, one prediction per model, /metrics
  registry  list and describe asked of every worker process (connections
            of their own, until each process answered --per-pid times):
            the same list, the same descriptions, each model held by every
            living worker process, the removed names 404, the state file
            agreeing
  report    every figure of the results folder as one markdown summary;
            exit status 1 when a check failed
"""

import argparse
import collections
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import faults_http as fh      # noqa: E402
import faults_proc as fp      # noqa: E402


def write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.rename(path + ".tmp", path)


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


# ---------------------------------------------------------------- snapshot

def temp_folders(tmp):
    try:
        return sorted(n for n in os.listdir(tmp)
                      if n.startswith("torchserve-model-"))
    except OSError:
        return []


def snapshot(args):
    master = fp.master_pid(args.prefix)
    res = {"t": time.time(), "master": fp.snapshot(master),
           "workers": [fp.snapshot(p) for p in fp.workers(master)],
           "shm": fp.shm_pages(args.metrics),
           "temp_folders": temp_folders(args.tmp)}
    # torchserve-model-<pid>-XXXXXX of pids not running now
    res["temp_dead"] = [n for n in res["temp_folders"]
                        if not n.split("-")[2].isdigit()
                        or not fp.alive(int(n.split("-")[2]))]
    write_json(args.out, res)


def settle(args):
    master = fp.master_pid(args.prefix)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        ws = fp.workers(master)
        if len(ws) == args.want and all(
                fp.cmdline(p).endswith("worker process") for p in ws):
            # every model loaded in every process: describe lists them
            ok = True
            for m in args.models:
                reply, _ = fh.try_request(args.mgmt, "GET", "/models/" + m,
                                          timeout=10)
                if reply is None or reply.status != 200 or sorted(
                        w["pid"] for w in reply.json()[0]["workers"]
                        if w["status"] == "READY") != sorted(ws):
                    ok = False
                    break
            if ok:
                print(" ".join(map(str, ws)))
                return 0
        time.sleep(0.5)
    print("not settled: workers %s" % fp.children(master), file=sys.stderr)
    return 1


# ------------------------------------------------------------------ health

def health(args):
    res = {"ok": True, "checks": []}

    def check(what, port, method, path, body=b"", ctype=None, want=200):
        """Up to --tries times, 0.5 s apart: /ping is 500 "Unhealthy"
        while a process loads a model (the registry loop's)."""
        headers = {"Content-Type": ctype} if ctype else {}
        rec = {"what": what, "tries": 0, "failed": []}
        while rec["tries"] < args.tries:
            rec["tries"] += 1
            reply, err = fh.try_request(port, method, path, body, headers,
                                        timeout=30)
            rec["status"] = reply.status if reply else err
            if what == "ping" and reply is not None:
                try:
                    rec["answer"] = reply.json().get("status")
                except (ValueError, AttributeError):
                    rec["answer"] = reply.body[:80].decode(errors="replace")
                ok = reply.status == 200 and rec["answer"] == "Healthy"
            else:
                ok = reply is not None and reply.status == want
            if ok:
                break
            rec["failed"].append([rec["status"], rec.get("answer")])
            time.sleep(0.5)
        rec["ok"] = ok
        res["ok"] = res["ok"] and ok
        res["checks"].append(rec)

    check("ping", args.inf, "GET", "/ping")
    for spec in args.predict:
        name, body, ctype = spec.split(":", 2)
        with open(body, "rb") as f:
            check("predict " + name, args.inf, "POST",
                  "/predictions/" + name, f.read(), ctype)
    check("metrics", args.metrics, "GET", "/metrics")
    write_json(args.out, res)
    return 0 if res["ok"] else 1


# ---------------------------------------------------------------- registry

PER_PROCESS = ("workers", "jobQueueStatus")


def registry(args):
    master = fp.master_pid(args.prefix)
    live = sorted(fp.workers(master, serving_only=True))
    seen = collections.defaultdict(lambda: collections.Counter())
    lists, describes, absent, problems = {}, {}, {}, []
    holders = {}
    asked = 0
    while asked < args.max_requests:
        if all(seen[p]["list"] >= args.per_pid for p in live):
            break
        asked += 1
        reply, err = fh.try_request(args.mgmt, "GET", "/models?limit=1000")
        if reply is None:
            problems.append("GET /models: %s" % err)
            continue
        seen[reply.pid]["list"] += 1
        names = [m["modelName"] for m in reply.json()["models"]]
        lists.setdefault(json.dumps(names), set()).add(reply.pid)
        for m in args.expect:
            reply, err = fh.try_request(args.mgmt, "GET", "/models/" + m)
            if reply is None:
                problems.append("GET /models/%s: %s" % (m, err))
                continue
            seen[reply.pid]["describe"] += 1
            if reply.status != 200:
                problems.append("GET /models/%s: %d from %s" % (
                    m, reply.status, reply.pid))
                continue
            entries = reply.json()
            pids = []
            for e in entries:
                pids += [(w["pid"], w["status"]) for w in e["workers"]]
                for k in PER_PROCESS:
                    e.pop(k, None)
            key = json.dumps(entries, sort_keys=True)
            describes.setdefault(m, {}).setdefault(key, set()).add(
                reply.pid)
            holders.setdefault(m, {})[reply.pid] = sorted(pids)
        for m in args.absent:
            reply, err = fh.try_request(args.mgmt, "GET", "/models/" + m)
            if reply is None:
                problems.append("GET /models/%s: %s" % (m, err))
                continue
            absent.setdefault(m, collections.Counter())[reply.status] += 1

    res = {"live": live, "asked": asked,
           "answers_by_pid": {str(p): dict(c) for p, c in seen.items()},
           "lists": {k: sorted(v) for k, v in lists.items()},
           "describe_variants": {m: len(v) for m, v in describes.items()},
           "holders": {m: {str(p): v for p, v in h.items()}
                       for m, h in holders.items()},
           "absent": {m: dict(c) for m, c in absent.items()},
           "problems": problems}
    # the checks
    unreached = [p for p in live if seen[p]["list"] == 0]
    if unreached:
        problems.append("worker processes never answered: %s" % unreached)
    strangers = [p for p in seen if p not in live]
    if strangers:
        problems.append("answers from processes not serving: %s" % strangers)
    if len(lists) != 1:
        problems.append("the processes list different models: %s" %
                        res["lists"])
    elif json.loads(next(iter(lists))) != sorted(args.expect):
        problems.append("GET /models lists %s, expected %s" % (
            next(iter(lists)), sorted(args.expect)))
    for m, variants in describes.items():
        if len(variants) != 1:
            problems.append("%s: %d different descriptions across processes"
                            % (m, len(variants)))
            res.setdefault("describe_diff", {})[m] = list(variants)[:3]
    for m, h in holders.items():
        for pid, pids in h.items():
            if sorted(p for p, _ in pids) != live or any(
                    s != "READY" for _, s in pids):
                problems.append("%s as described by %s: workers %s, living "
                                "%s" % (m, pid, pids, live))
    for m, c in absent.items():
        if set(c) != {404}:
            problems.append("%s should be gone: answers %s" % (m, dict(c)))
    if args.state and not os.path.exists(args.state):
        # written at the first change of the registry
        res["state"] = "not written yet"
    elif args.state:
        st = load(args.state)
        if st is None:
            problems.append("state file %s unreadable" % args.state)
        else:
            names = sorted(m["modelName"] for m in st["models"])
            res["state"] = {"generation": st.get("generation"),
                            "models": names}
            if names != sorted(args.expect):
                problems.append("state file lists %s" % names)
    res["ok"] = not problems
    write_json(args.out, res)
    return 0 if res["ok"] else 1


# ------------------------------------------------------------------ report

def parse_wrk(path):
    res = {"statuses": {}}
    try:
        text = open(path).read()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("RESULT "):
            res.update({k: float(v) for k, v in
                        (kv.split("=") for kv in line.split()[1:])})
        elif line.startswith("STATUS "):
            res["statuses"] = {k: int(v) for k, v in
                               (kv.split("=") for kv in line.split()[1:])}
    return res if "requests" in res else None


def access_log(path, t0, t1, port):
    """Answers by port and status between t0 and t1 ($msec first), the
    times of the answers on port, each worker process's first answer."""
    by = collections.defaultdict(collections.Counter)
    times = []
    first = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                fields = line.split(" ", 4)
                if len(fields) < 4:
                    continue
                try:
                    t = float(fields[0])
                except ValueError:
                    continue
                if t0 <= t <= t1:
                    by[fields[2]][fields[3]] += 1
                    if fields[2] == port:
                        times.append(t)
                        first.setdefault(fields[1], t)
    except OSError:
        pass
    times.sort()
    return by, times, first


def starts(path):
    """{pid: time} of each "start worker process" line (1 s resolution)."""
    out = {}
    try:
        for line in open(path, errors="replace"):
            m = re.match(r"^(\S+ \S+) .*start worker process (\d+)", line)
            if m:
                out[m.group(2)] = time.mktime(time.strptime(
                    m.group(1), "%Y/%m/%d %H:%M:%S"))
    except OSError:
        pass
    return out


LOG_LINE = re.compile(r"^\S+ \S+ \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$")


def error_log(path):
    levels = collections.Counter()
    signals = collections.Counter()
    messages = collections.defaultdict(collections.Counter)
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        m = LOG_LINE.match(line)
        if not m:
            continue
        level, msg = m.groups()
        levels[level] += 1
        s = re.search(r"exited on signal (\d+)", msg)
        if s:
            signals[s.group(1)] += 1
            continue
        if level in ("error", "crit", "alert", "emerg", "warn"):
            # one line per kind of message: numbers and quoted names out
            key = re.sub(r"\d+", "N", msg.split(", client:")[0])[:160]
            messages[level][key] += 1
    return levels, signals, messages


def mb(kb):
    return "%.1f" % (kb / 1024.0) if kb is not None else "-"


def report(args):
    d = args.dir
    limit_kb = args.limit_mb * 1024
    checks = []       # (name, ok, figures); ok None: a warning only
    out = []

    def check(name, ok, figures):
        checks.append((name, ok, figures))

    params = load(os.path.join(d, "params.json"), {})
    chaos = load(os.path.join(d, "chaos.json"), {})
    probe = load(os.path.join(d, "probe.json"), {})
    cycle = load(os.path.join(d, "cycle.json"), {})
    garbage = load(os.path.join(d, "garbage.json"), {})
    slow = load(os.path.join(d, "slow.json"), {})
    over = load(os.path.join(d, "oversized.json"), {})
    start = load(os.path.join(d, "start.json"), {})
    end = load(os.path.join(d, "end.json"), {})
    endw = load(os.path.join(d, "end_warm.json"), {})
    reg = load(os.path.join(d, "registry_end.json"), {})
    reg0 = load(os.path.join(d, "registry_start.json"), {})
    hg = load(os.path.join(d, "health_garbage.json"), {})
    he = load(os.path.join(d, "health_end.json"), {})
    settled = load(os.path.join(d, "settled.json"), {})
    wrks = {m: parse_wrk(os.path.join(d, "wrk_%s.txt" % m))
            for m in params.get("models", [])}

    kills = chaos.get("kills", [])
    reloads = chaos.get("reloads", [])
    killed = {k["pid"] for k in kills if "error" not in k}
    retired = set()
    for r in reloads:
        retired.update(r["old"])
    kill_conns = sum(k.get("conns", 0) for k in kills)
    reload_conns = sum(r["conns"] for r in reloads)

    # --- load: answers by status
    out.append("# bench/faults.sh: %s\n" % params.get("date", ""))
    out.append("%s; %d s of load, worker_processes 2, models %s; "
               "REQUESTS=%s per handler kind.\n" % (
                   params.get("machine", ""), params.get("duration", 0),
                   ", ".join(params.get("models", [])),
                   params.get("requests")))
    out.append("## Faults phase\n")
    out.append("| load | requests | req/s | p50 ms | p99 ms | max ms | "
               "answers by status | connect | read | write | timeout |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    cut_total = 0
    for m, w in wrks.items():
        if w is None:
            out.append("| wrk %s | (no result) |||||||||" % m)
            check("wrk %s finished" % m, False, "no RESULT line")
            continue
        st = " ".join("%s: %d" % kv for kv in sorted(w["statuses"].items()))
        out.append("| wrk %s, 32 conns | %d | %.0f | %.2f | %.1f | %.0f | "
                   "%s | %d | %d | %d | %d |" % (
                       m, w["requests"], w["rps"], w["p50_ms"],
                       w["p99_ms"], w["max_ms"], st, w["connect"],
                       w["read"], w["write"], w["timeout"]))
        bad = {s: n for s, n in w["statuses"].items() if s != "200"}
        check("wrk %s: every answer 200" % m, not bad,
              "%d answers, others: %s" % (sum(w["statuses"].values()),
                                          bad or "none"))
        check("wrk %s: no connect error, no timeout" % m,
              w["connect"] == 0 and w["timeout"] == 0,
              "connect %d, timeout %d" % (w["connect"], w["timeout"]))
        cut_total += w["read"] + w["write"]
    if probe:
        st = " ".join("%s: %s" % kv for kv in sorted(
            probe["statuses"].items()))
        out.append("| probe digits, %s conns | %d | | | | | %s | %d failed "
                   "||||" % (params.get("probe_conns", 4),
                             probe["requests"], st,
                             len(probe["failures"])))
    out.append("")
    check("connections cut (wrk read/write errors) within what the kills "
          "and reloads closed", cut_total <= kill_conns + reload_conns,
          "%d cut; the killed workers held %d connections, the workers "
          "retired by reloads %d" % (cut_total, kill_conns, reload_conns))

    # --- probe attribution
    if probe:
        why = collections.Counter()
        unexplained = []
        t_kills = [k["t"] for k in kills]
        for f in probe["failures"]:
            t_lo, t_hi = f["t_send"] - 0.2, f["t_fail"] + 0.2
            kill_near = any(t_lo <= t <= t_hi for t in t_kills)
            if f["last_pid"] in killed or (not f["reused"] and kill_near):
                why["killed worker"] += 1
            elif (f["reused"] and f["received"] == 0
                  and f["last_pid"] in retired):
                why["idle keep-alive closed by a retiring worker"] += 1
            else:
                unexplained.append(f)
        check("probe: every failed request explained (killed worker, or an "
              "idle keep-alive connection closed by a reload)",
              not unexplained, "%d failures of %d requests: %s%s" % (
                  len(probe["failures"]), probe["requests"],
                  dict(why) or "none",
                  ("; unexplained: %s" % unexplained[:3])
                  if unexplained else ""))
        bad = {s: n for s, n in probe["statuses"].items() if s != "200"}
        check("probe: every answer 200", not bad, bad or "all 200")

    # --- chaos
    out.append("Reloads: %d (%d failed), SIGKILLs: %d (pids %s; %d of a "
               "worker process still loading its models); at most %d "
               "worker processes at once.\n" % (
                   len(reloads), sum(1 for r in reloads if r["rc"]),
                   len(kills), " ".join(str(k["pid"]) for k in kills),
                   sum(1 for k in kills if k.get("starting")),
                   chaos.get("max_workers", 0)))
    check("every reload accepted", all(r["rc"] == 0 for r in reloads),
          "%d reloads, rc %s" % (len(reloads), sorted({r["rc"] for r in
                                                       reloads})))

    # --- cycle
    if cycle:
        t_kills = [k["t"] for k in kills]
        cut_ok = []
        cut_bad = []
        for c in cycle["cuts"]:
            t_lo = c["t"] - 0.2
            t_hi = c.get("t_fail", c["t"]) + 0.2
            (cut_ok if any(t_lo <= t <= t_hi for t in t_kills)
             else cut_bad).append(c)
        out.append("Registry loop (`%s`): %d turns; management answers %s; "
                   "predictions after each step %s; %d requests cut (%d "
                   "during a kill).\n" % (
                       params.get("third", "third"), cycle["turns"],
                       cycle["steps"], cycle["predictions"],
                       len(cycle["cuts"]), len(cut_ok)))
        check("registry loop: every step answered as expected",
              not cycle["unexpected"],
              "%d turns, unexpected: %s" % (cycle["turns"],
                                           cycle["unexpected"][:4] or
                                           "none"))
        check("registry loop: requests cut only by a kill", not cut_bad,
              "%d cut, %d of them while no worker was killed%s" % (
                  len(cycle["cuts"]), len(cut_bad),
                  (": %s" % cut_bad[:3]) if cut_bad else ""))
        fl = cycle.get("failing_loads", [])
        # a registration cut while a SIGKILL hit its worker process is the
        # kill's (as the loop's own cuts above); its name must still go
        killed_cut = [f for f in fl if f["status"] == "cut"
                      and f["after"] == 404
                      and any(f.get("t_start", f["t"]) - 0.2 <= t
                              <= f["t"] + 0.2 for t in t_kills)]
        bad = [f for f in fl if f not in killed_cut
               and (f["status"] != f["expected"] or not f.get("json")
                    or f["after"] != 404)]
        check("failing model loads: clean JSON error, nothing left "
              "registered", fl and not bad,
              "%d tries (%s); %s" % (
                  len(fl), ", ".join(sorted({"%s: %s" % (
                      f["url"], f["status"]) for f in fl})),
                  ("bad: %s" % bad[:3]) if bad else "every one as expected"
                  + (", %d cut by a kill" % len(killed_cut) if killed_cut
                     else "")
                  + (" (e.g. %s)" % fl[-1].get("message", "") if fl
                     else "")))
        check("registry loop left the third model unregistered",
              cycle["final"].get("third") == "absent",
              cycle["final"].get("third"))

    # --- garbage, slow, oversized
    if garbage:
        out.append("Garbage: %d requests (seed %s): %s; the slowest %.2f s;"
                   " 5xx expected: %s.\n" % (
                       garbage["count"], garbage["seed"],
                       dict(sorted(garbage["statuses"].items())),
                       garbage["max_s"], garbage.get("allowed_5xx")))
        check("garbage: no unexpected 5xx", not garbage["unexpected"],
              "%d requests, %d unexpected 5xx%s" % (
                  garbage["count"], len(garbage["unexpected"]),
                  (": %s" % garbage["unexpected"][:2])
                  if garbage["unexpected"] else ""))
    if hg:
        check("after the garbage: /ping healthy, models answer",
              hg.get("ok"), ["%s %s%s" % (c["what"], c["status"],
                                          (" after %s" % c["failed"])
                                          if c.get("failed") else "")
                             for c in hg["checks"]])
    if slow:
        recs = [(r, c) for r in slow["rounds"] for c in r["clients"]]
        exp = slow["expect_s"]
        # the upper bound leaves room for a connection that waited in the
        # listen queue while the worker processes of a reload loaded
        bad = [c for _, c in recs if c["outcome"] == "still-open"
               or c["outcome"].startswith("error")
               or not (exp - 1 <= c["s"] <= exp + 15)]
        side_bad = [r["meanwhile"] for r in slow["rounds"]
                    if r["meanwhile"]["status"] != 200
                    or r["meanwhile"]["s"] > 20]
        outcomes = collections.Counter("%s %s" % (c["kind"], c["outcome"])
                                       for _, c in recs)
        secs = [c["s"] for _, c in recs]
        out.append("Slow clients: %d in %d rounds: %s, closed after %.1f-"
                   "%.1f s (timeouts %g s); a request meanwhile: %s.\n" % (
                       len(recs), len(slow["rounds"]), dict(outcomes),
                       min(secs) if secs else 0, max(secs) if secs else 0,
                       exp, [r["meanwhile"] for r in slow["rounds"]]))
        check("slow clients closed by nginx after its timeout, others "
              "served meanwhile", recs and not bad and not side_bad,
              "%d clients, bad %s, meanwhile bad %s" % (len(recs), bad[:3],
                                                        side_bad))
    if over:
        check("oversized bodies: 413", over["sent"] and not
              over["unexpected"], "%d sent: %s%s" % (
                  over["sent"], over["statuses"],
                  (", unexpected %s" % over["unexpected"][:3])
                  if over["unexpected"] else ""))

    # --- after the load
    check("every worker process alive and serving after the load",
          settled.get("ok"), settled.get("workers"))
    if he:
        check("/ping healthy, every model answers, /metrics", he.get("ok"),
              ["%s %s%s" % (c["what"], c["status"],
                            (" after %s" % c["failed"])
                            if c.get("failed") else "")
               for c in he["checks"]])
    check("registry at start consistent", reg0.get("ok"),
          reg0.get("problems") or "list, describe, state file agree")
    check("registry after the load consistent in every process",
          reg.get("ok"), (reg.get("problems") or
                          "%d worker processes asked %s times; list, "
                          "describe and state file agree" % (
                              len(reg.get("live", [])),
                              reg.get("answers_by_pid"))))

    s0, s1 = start.get("shm"), end.get("shm")
    if s0 and s1:
        check("shared zone: free pages back to the start",
              s1["free_pages"] == s0["free_pages"],
              "%d of %d at start, %d at the end" % (
                  s0["free_pages"], s0["pages"], s1["free_pages"]))
    else:
        check("shared zone: free pages back to the start", None,
              "unreadable (ts_shm_free_pages not in /metrics)")

    # fd and USS: the master lived through the whole phase; the worker
    # processes of the end are compared with those of the start, both
    # warmed up the same way
    m0, m1 = start.get("master", {}), endw.get("master", {})
    if m0 and m1:
        check("master: fd count and USS back", m1["fds"] <= m0["fds"] +
              args.fd_slack and m1["uss_kb"] - m0["uss_kb"] <= limit_kb,
              "fds %d -> %d, USS %s -> %s MB (RSS %s -> %s MB)" % (
                  m0["fds"], m1["fds"], mb(m0["uss_kb"]), mb(m1["uss_kb"]),
                  mb(m0["rss_kb"]), mb(m1["rss_kb"])))
    w0 = sorted(start.get("workers", []), key=lambda w: w["uss_kb"] or 0)
    w1 = sorted(endw.get("workers", []), key=lambda w: w["uss_kb"] or 0)
    if w0 and w1 and len(w0) == len(w1):
        ok = all(b["fds"] <= a["fds"] + args.fd_slack
                 and b["uss_kb"] - a["uss_kb"] <= limit_kb
                 for a, b in zip(w0, w1))
        check("worker processes after the load: fd count and USS within "
              "%g MB of the start" % args.limit_mb, ok,
              "; ".join("fds %d -> %d, USS %s -> %s MB" % (
                  a["fds"], b["fds"], mb(a["uss_kb"]), mb(b["uss_kb"]))
                  for a, b in zip(w0, w1)))
    else:
        check("worker processes after the load: fd count and USS", False,
              "start %d, end %d worker processes" % (len(w0), len(w1)))
    # torchserve-model-<pid>-XXXXXX: a worker process removes the folders
    # of dead pids at its start
    folders = end.get("temp_folders", [])
    dead = end.get("temp_dead", [])
    check("temp path: no folders left by dead worker processes", not dead,
          "%d torchserve-model-* folders for %d living worker processes x "
          "%d Python model(s), %d of dead pids%s" % (
              len(folders), len(end.get("workers", [])),
              params.get("py_models", 1), len(dead),
              (": " + ", ".join(dead[:4])) if dead else ""))

    # --- logs
    t0, t1 = params.get("t_faults", 0), params.get("t_faults_end", 0)
    inf_port = next((p for p, what in params.get("ports", {}).items()
                     if what == "inference"), "")
    by, times, first = access_log(params.get("access_log", ""), t0, t1,
                                  inf_port)
    # while wrk ran (the phase's last jobs run on a little longer)
    t_load = t0 + params.get("duration", 0)
    times = [t for t in times if t <= t_load]
    if times:
        per_s = collections.Counter(int(t - t0) for t in times)
        secs = [per_s.get(i, 0) for i in range(int(t_load - t0))]
        gaps = [b - a for a, b in zip([t0] + times, times + [t_load])]
        longest = max(gaps)
        at = ([t0] + times)[gaps.index(longest)] - t0
        out.append("Answers per second on the inference port while wrk ran "
                   "(all statuses): %s.\n" % " ".join(
                       map(str, secs)))
        out.append("Seconds without a single answer: %d of %d; the longest "
                   "stretch without one: %.2f s (from %.1f s on).\n" % (
                       sum(1 for n in secs if n == 0), len(secs), longest,
                       at))
        started = starts(os.path.join(d, "error.log"))
        ready = sorted(first[p] - started[p] for p in first
                       if p in started and started[p] >= t0 - 1)
        if ready:
            out.append("Worker processes started during the phase: %d "
                       "answered at least once, their first answer %.1f s "
                       "(median) and %.1f s (max) after the master started "
                       "them (error log times: 1 s resolution); %d started "
                       "and never answered.\n" % (
                           len(ready), ready[len(ready) // 2], ready[-1],
                           sum(1 for p, t in started.items()
                               if t >= t0 - 1 and p not in first)))
    if by:
        out.append("Answers by status in the access log during the faults "
                   "phase:\n")
        out.append("| port | answers | by status |")
        out.append("|---|---|---|")
        for port, c in sorted(by.items()):
            out.append("| %s (%s) | %d | %s |" % (
                port, params.get("ports", {}).get(port, "?"),
                sum(c.values()), " ".join("%s: %d" % kv
                                          for kv in sorted(c.items()))))
        out.append("")
    levels, signals, messages = error_log(os.path.join(d, "error.log"))
    out.append("Error log: %s; worker processes exited on signal %s.\n" % (
        dict(levels), dict(signals) or "none"))
    other = {s: n for s, n in signals.items() if s != "9"}
    check("no worker process died of anything but our SIGKILLs",
          not other and signals.get("9", 0) == len(killed),
          "signals %s, %d SIGKILLs sent" % (dict(signals) or "none",
                                            len(killed)))
    severe = {lvl: dict(messages[lvl]) for lvl in ("crit", "alert", "emerg")
              if messages.get(lvl)}
    check("no [crit], [alert] or [emerg] besides the SIGKILLs", not severe,
          severe or "none")
    for lvl in ("error", "warn"):
        if messages.get(lvl):
            out.append("[%s] lines, by kind:\n" % lvl)
            for msg, n in messages[lvl].most_common(12):
                out.append("- %d x `%s`" % (n, msg.replace("`", "'")))
            out.append("")

    # --- memory over time
    out.append("## Memory over time\n")
    out.append("| model | requests | answers | errors | worker | USS after "
               "warm-up MB | USS at the end MB | growth MB | max growth MB | "
               "fds |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    mem_models = params.get("mem_models", params.get("models", []))
    for m in mem_models:
        mem = load(os.path.join(d, "mem_%s.json" % m))
        if not mem:
            check("memory over time: %s" % m, False, "no result")
            continue
        first, last = mem["samples"][0], mem["samples"][-1]
        pids0 = sorted(w["pid"] for w in first["workers"])
        pids1 = sorted(w["pid"] for w in last["workers"])
        grows = []
        for w in first["workers"]:
            series = [next((x for x in s["workers"] if x["pid"] == w["pid"]),
                           None) for s in mem["samples"]]
            series = [x for x in series if x]
            g = series[-1]["uss_kb"] - series[0]["uss_kb"]
            gmax = max(x["uss_kb"] for x in series) - series[0]["uss_kb"]
            grows.append(g)
            out.append("| %s | %d | %s | %d | %d | %s | %s | %.2f | %.2f | "
                       "%d -> %d |" % (
                           m, last["requests"],
                           " ".join("%s: %d" % kv for kv in
                                    sorted(mem["statuses"].items())),
                           mem["errors"], w["pid"], mb(series[0]["uss_kb"]),
                           mb(series[-1]["uss_kb"]), g / 1024.0,
                           gmax / 1024.0, series[0]["fds"],
                           series[-1]["fds"]))
        bad = {s: n for s, n in mem["statuses"].items() if s != "200"}
        check("memory over time, %s: the same worker processes, every "
              "answer 200" % m, pids0 == pids1 and not bad and
              mem["errors"] == 0,
              "pids %s -> %s, %d answers, others %s, errors %d" % (
                  pids0, pids1, sum(mem["statuses"].values()),
                  bad or "none", mem["errors"]))
        check("memory over time, %s: USS growth per worker process after "
              "warm-up <= %g MB" % (m, args.limit_mb),
              all(g <= limit_kb for g in grows),
              ", ".join("%.2f MB" % (g / 1024.0) for g in grows))
    out.append("")
    per = []
    for m in mem_models:
        mem = load(os.path.join(d, "mem_%s.json" % m))
        if mem:
            per.append("%s: %s" % (m, " | ".join(
                "%d: %s" % (s["requests"], ",".join(
                    mb(w["uss_kb"]) for w in s["workers"]))
                for s in mem["samples"])))
    if per:
        out.append("USS samples (requests: MB per worker process):\n")
        out.extend("- " + p for p in per)
        out.append("")

    # --- the checks
    out.append("## Checks\n")
    out.append("| check | result | figures |")
    out.append("|---|---|---|")
    failed = 0
    for name, ok, fig in checks:
        mark = "PASS" if ok else ("WARN" if ok is None else "FAIL")
        failed += ok is False
        out.append("| %s | %s | %s |" % (name, mark,
                                         str(fig).replace("|", "/")))
    out.append("")
    out.append("%d checks, %d failed, %d warnings.\n" % (
        len(checks), failed, sum(1 for c in checks if c[1] is None)))
    text = "\n".join(out)
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write(text)
    print(text)
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.
                                 RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("snapshot")
    p.add_argument("--prefix", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--metrics", type=int, required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=snapshot)

    p = sub.add_parser("settle")
    p.add_argument("--prefix", required=True)
    p.add_argument("--mgmt", type=int, required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--want", type=int, default=2)
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(fn=settle)

    p = sub.add_parser("health")
    p.add_argument("--inf", type=int, required=True)
    p.add_argument("--metrics", type=int, required=True)
    p.add_argument("--predict", nargs="+", default=[],
                   help="NAME:BODY_FILE:CONTENT_TYPE")
    p.add_argument("--tries", type=int, default=20)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=health)

    p = sub.add_parser("registry")
    p.add_argument("--prefix", required=True)
    p.add_argument("--mgmt", type=int, required=True)
    p.add_argument("--expect", nargs="+", required=True)
    p.add_argument("--absent", nargs="*", default=[])
    p.add_argument("--state")
    p.add_argument("--per-pid", type=int, default=3)
    p.add_argument("--max-requests", type=int, default=200)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=registry)

    p = sub.add_parser("report")
    p.add_argument("--dir", required=True)
    p.add_argument("--limit-mb", type=float, default=5)
    p.add_argument("--fd-slack", type=int, default=0)
    p.set_defaults(fn=report)

    args = ap.parse_args()
    sys.exit(args.fn(args) or 0)


if __name__ == "__main__":
    main()
