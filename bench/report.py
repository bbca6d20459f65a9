#!/usr/bin/python3
"""report.py RESULTS_DIR: the table of bench/run.sh from raw.tsv,
memory.txt and machine.txt; prints it, writes latest.md and, when gnuplot
is installed, latest.png (throughput as a ratio to the floor)."""
import csv
import os
import shutil
import statistics
import subprocess
import sys

res = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(res, "raw.tsv")), delimiter="\t"))
memory = {}
if os.path.exists(os.path.join(res, "memory.txt")):
    for line in open(os.path.join(res, "memory.txt")):
        parts = line.split()
        memory[parts[0]] = parts[1] if len(parts) > 1 else "-"
machine = open(os.path.join(res, "machine.txt")).read().strip() \
    if os.path.exists(os.path.join(res, "machine.txt")) else ""

loads = [float(r["load1"]) for r in rows if r.get("load1")]
if loads:
    machine += ("\n1-minute load at each measured run: median %.2f, max %.2f"
                " (includes the benchmark's own load: 2 busy server"
                " processes + wrk)" % (statistics.median(loads), max(loads)))

groups = {}
order = []
for r in rows:
    key = (r["server"], r["model"], r["conns"])
    if key not in groups:
        groups[key] = []
        order.append(key)
    groups[key].append(r)

models = []
for s, m, c in order:
    if m not in models:
        models.append(m)
servers = []
for s, m, c in order:
    if s not in servers:
        servers.append(s)

floor = {}
NCPU_TEXT = next((k[2] for k in groups if k[0] == "floor"), "?")
for (s, m, c), g in groups.items():
    if s == "floor":
        floor[m] = (statistics.median(float(x["rps"]) for x in g),
                    statistics.median(float(x["p50_ms"]) for x in g))


def fmt(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


header = ["model", "server", "conns", "req/s median [min-max]", "p50 ms",
          "p99 ms", "errors", "ratio to floor", "p50 - floor p50 (ms)",
          "USS MB per worker"]
table = []
chart = {}
for m in models:
    for s in servers:
        for c in sorted({k[2] for k in groups if k[0] == s and k[1] == m},
                        key=lambda x: -int(x)):
            g = groups[(s, m, c)]
            rps = [float(x["rps"]) for x in g]
            p50 = statistics.median(float(x["p50_ms"]) for x in g)
            p99 = statistics.median(float(x["p99_ms"]) for x in g)
            err = sum(int(x["errors"]) for x in g)
            med = statistics.median(rps)
            ratio = med / floor[m][0] if m in floor and floor[m][0] else 0
            dp50 = p50 - floor[m][1] if m in floor else 0
            is_floor = s.startswith("floor")
            conns = ("threads=" + c) if is_floor else c
            table.append([m, s, conns,
                          "%s [%s-%s]" % (fmt(med), fmt(min(rps)), fmt(max(rps))),
                          fmt(p50), fmt(p99), str(err),
                          "%.2f" % ratio,
                          "-" if is_floor else "%+.2f" % dp50,
                          memory.get(s, "-")])
            if s not in ("floor", "floor_pre"):
                # (floor_pre, preprocessing alone, is 20-30x: off the chart)
                # floor_b8 (threads, not connections) beside the c=32 bars
                chart.setdefault(s, {})["%s c=%s" % (m, "32" if is_floor else c)] = ratio

widths = [max(len(str(x[i])) for x in table + [header]) for i in range(len(header))]


def line(cells):
    return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"


lines = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
lines += [line(r) for r in table]
text = "\n".join(lines)
print(text)

# the compact view the README shows: one row per server, ratios to the floor
summary_cols = [(m, c) for m in models for c in ("32", "2")]
sheader = ["server"] + ["%s c=%s" % mc for mc in summary_cols] \
    + ["%s c=2 p50 - floor" % m for m in models] + ["USS MB/worker"]
srows = []
for s in servers:
    if s == "floor":
        continue
    cells = [s]
    for m, c in summary_cols:
        g = groups.get((s, m, c))
        if s.startswith("floor"):
            g = next((v for k, v in groups.items() if k[0] == s and k[1] == m), None) \
                if c == "32" else None
        if not g or m not in floor:
            cells.append("")
            continue
        med = statistics.median(float(x["rps"]) for x in g)
        cells.append("%s (%.2f)" % (fmt(med), med / floor[m][0]))
    for m in models:
        g = groups.get((s, m, "2"))
        if not g or s.startswith("floor") or m not in floor:
            cells.append("")
            continue
        cells.append("%+.2f ms" % (statistics.median(float(x["p50_ms"]) for x in g) - floor[m][1]))
    cells.append(memory.get(s, "-"))
    srows.append(cells)
stext = "| " + " | ".join(sheader) + " |\n|" + "|".join("---" for _ in sheader) + "|\n"
stext += "\n".join("| " + " | ".join(r) + " |" for r in srows)


def python_model(m):
    """pymnist...: a Python handler, whose floor is bench/pyfloor.py"""
    return m.startswith("py")


def floor_text(what, ms):
    return "%s: %s" % (what, ", ".join(
        "%s %s calls/s, %.2f ms per call" % (m, fmt(floor[m][0]), floor[m][1]) for m in ms))


floor_lines = []
if any(m in floor and not python_model(m) for m in models):
    floor_lines.append(floor_text("floor (in-process libtorch, %s threads)" % NCPU_TEXT,
                                  [m for m in models if m in floor and not python_model(m)]))
if any(m in floor and python_model(m) for m in models):
    floor_lines.append(floor_text(
        "Python floor (handle() through ts._embed, %s python3 processes)" % NCPU_TEXT,
        [m for m in models if m in floor and python_model(m)]))
floor_line = "\n\n".join(floor_lines)

notes = """
Ratios are to the floor of the same model in the same run (bench/floor.cpp:
forward() in a loop, one thread per core, at::set_num_threads(1),
InferenceMode); "p50 - floor p50" compares a request's median latency with
the floor's median forward() time. Requests and the floor's calls are one
instance each; floor_b8 runs forward() on batches of 8 and counts instances
(its latencies are per batch): the most batching could give.
ts_wpW_tpT = this module with worker_processes W, thread_pool threads=T and
`torchserve_model ... workers=2T` (2T batches in flight per process, T
running, so a thread finds the next one queued);
_b8 adds `batch_size=8 max_batch_delay=5ms` with the default batch_policy,
adaptive (a batch leaves at once whenever one of the workers slots is
free, with what is queued: requests gather only while every slot is busy);
_b8d the same with batch_policy=delay, TorchServe's (a request waits up to
5 ms for 7 others, so at 2 connections its latency includes that delay by
design).
pymnist is a Python handler (the MNIST tutorial's ImageClassifier subclass
on an eager model.py + state_dict, a PNG body); its floor is
bench/pyfloor.py: the handler's handle() through our ts._embed in a loop,
one python3 process per core, torch.set_num_threads(1). pyts_wpW_tpT = this
module serving it alone, worker_processes W (cores), threads=T,
`workers=2T` handler instances per process (_rp: `listen ... reuseport`,
one listening socket per process; _nho: `torchserve_handoff off`, each
process runs the predictions of the connections it accepted, else a
process whose interpreter is busy hands a prediction to an idle one);
pyflask and pyfastapi call the same
handler through ts._embed. USS is the private memory (Private_* of
/proc/PID/smaps_rollup) of each worker process after the run, with every
model it serves loaded (tiny and resnet18, or pymnist and its interpreter).
wrk runs on the same cores as the servers. errors = socket errors + non-2xx.
resnet18_vision (the vision group: resnet18 behind the C image_classifier,
a 640x480 JPEG body) has a floor of its own: floor_fwd (floor.cpp on
preprocessed [1,3,224,224] tensors; floor_fwd_b8 on [8,3,224,224]) and
floor_pre (build/bench/preprocess --threads: our decode + transform of the
body), each alone on every core, added per image: floor = 1 / (1 / fwd +
1 / pre) images/s, floor_b8 the same with floor_fwd_b8; their p50 (p99) is
fwd's plus pre's (b8: plus 8 pre's). vis_wp2_tpT = this module serving it,
worker_processes 2, threads=T, workers=2T (_b8 as above); visflask = Flask +
Pillow + torchvision + torch (bench/pyvision.py), gunicorn, 2 sync workers.
"""
# where a request's time goes in the pyts_ servers (the module's histograms)
split_text = ""
split_path = os.path.join(res, "split.tsv")
if os.path.exists(split_path):
    split = {}
    for r in csv.DictReader(open(split_path), delimiter="\t"):
        if r["queue_ms"] != "-":
            split.setdefault((r["server"], r["model"], r["conns"]), []).append(r)
    if split:
        floor_ms = {m: "%.2f" % floor[m][1] for m in floor}
        lines = ["| server | model | conns | queue ms | in the thread ms | event loop ms"
                 " | routing to answer ms | floor's call p50 ms |",
                 "|---|---|---|---|---|---|---|---|"]
        for (sv, m, c), g in sorted(split.items(), key=lambda kv: (kv[0][1], kv[0][0], -int(kv[0][2]))):
            q, th, rq = (statistics.median(float(x[k]) for x in g)
                         for k in ("queue_ms", "thread_ms", "request_ms"))
            # per round, then the median: the three medians need not add up
            ev = statistics.median(float(x["request_ms"]) - float(x["queue_ms"])
                                   - float(x["thread_ms"]) for x in g)
            lines.append("| %s | %s | %s | %.3f | %.3f | %.3f | %.3f | %s |"
                         % (sv, m, c, q, th, ev, rq, floor_ms.get(m, "-")))
        split_text = ("\nWhere a request's time goes in the module (its histograms: means per"
                      " run, median over rounds; queue = from its model's queue to a thread"
                      " starting its batch; event loop = routing to queue + the batch's end"
                      " to the answer):\n\n" + "\n".join(lines) + "\n")
        print(split_text)

# the vision group: its floors' parts, and each server against the floor,
# floor_b8 and Flask (the targets: >= 0.9 of the floor, >= 2x Flask)
VISION = "resnet18_vision"
vision_text = ""


def med_of(s, m, c=None):
    g = [x for k, v in groups.items() if k[0] == s and k[1] == m
         and (c is None or k[2] == c) for x in v]
    return statistics.median(float(x["rps"]) for x in g) if g else None


if VISION in models and VISION in floor:
    parts = {s: med_of(s, VISION) for s in ("floor_fwd", "floor_fwd_b8", "floor_pre",
                                             "floor", "floor_b8")}
    flask = {c: med_of("visflask", VISION, c) for c in ("32", "2")}
    b8 = parts["floor_b8"]
    vlines = ["| server | c=32 req/s | / floor | / floor_b8 | x Flask | c=2 req/s | / floor"
              " | / floor_b8 | x Flask | c=2 p50 ms | USS MB/worker |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in servers:
        if s.startswith("floor") or not any(k[0] == s and k[1] == VISION for k in groups):
            continue
        cells = [s]
        for c in ("32", "2"):
            v = med_of(s, VISION, c)
            if v is None:
                cells += ["", "", "", ""]
                continue
            cells += [fmt(v), "%.2f" % (v / floor[VISION][0]),
                      "%.2f" % (v / b8) if b8 else "-",
                      "%.2f" % (v / flask[c]) if flask[c] else "-"]
        g = groups.get((s, VISION, "2"))
        cells.append(fmt(statistics.median(float(x["p50_ms"]) for x in g)) if g else "")
        cells.append(memory.get(s, "-"))
        vlines.append("| " + " | ".join(cells) + " |")
    vision_text = (
        "\nThe vision group (%s: resnet18 behind the C image_classifier, a 640x480 JPEG"
        " body), medians over rounds. Floor parts, each alone on %s threads:"
        " forward() on preprocessed tensors %s img/s (batches of 8: %s img/s),"
        " our decode + transform of the body %s img/s; floor = 1 / (1 / forward"
        " + 1 / preprocessing) = %s img/s, floor_b8 (forward on batches of 8) = %s"
        " img/s.\n\n" % (VISION, NCPU_TEXT, fmt(parts["floor_fwd"]), fmt(parts["floor_fwd_b8"]),
                          fmt(parts["floor_pre"]), fmt(parts["floor"]), fmt(parts["floor_b8"]))
        + "\n".join(vlines) + "\n")
    print(vision_text)

# paired runs (run.sh PAIR_SERVERS): each server run beside a floor run made
# just before it; the median of those ratios is robust to the machine's drift
paired_text = ""
pfile = os.path.join(res, "paired.tsv")
if os.path.exists(pfile):
    pairs = {}
    for r in csv.DictReader(open(pfile), delimiter="\t"):
        if r["floor_rps"] and r["server_rps"] and float(r["floor_rps"]) > 0:
            pairs.setdefault((r["server"], r["model"], r["conns"]), []).append(
                float(r["server_rps"]) / float(r["floor_rps"]))
    if pairs:
        plines = ["| server | model | conns | ratio to the floor run before it, median [min-max] | rounds |",
                  "|---|---|---|---|---|"]
        for (s, m, c), v in pairs.items():
            plines.append("| %s | %s | %s | %.2f [%.2f-%.2f] | %d |"
                          % (s, m, c, statistics.median(v), min(v), max(v), len(v)))
        paired_text = ("\nPaired runs: each run below followed a floor run of the same"
                       " model and length, and its ratio is to that floor (the machine's"
                       " speed drifts between a round's floor and its later runs):\n\n"
                       + "\n".join(plines) + "\n")
        print(paired_text)

with open(os.path.join(res, "latest.md"), "w") as f:
    f.write("# bench: latest run\n\n```\n" + machine + "\n```\n\n"
            + "req/s median (ratio to the floor):\n\n" + floor_line + "\n\n" + stext
            + "\n" + vision_text + paired_text
            + "\n\nEvery run, medians [min-max] over rounds:\n\n" + text + "\n" + split_text
            + notes)
    if shutil.which("gnuplot"):
        f.write("\n![throughput as a ratio to the floor](latest.png)\n")

if shutil.which("gnuplot") and chart:
    cols = [k for k in ["%s c=%s" % (m, c) for m in models for c in ("32", "2")]
            if any(k in v for v in chart.values())]
    dat = os.path.join(res, "latest.dat")
    with open(dat, "w") as f:
        f.write("server\t" + "\t".join('"%s"' % c for c in cols) + "\n")
        for s in servers:
            if s in chart and s != "return200":
                f.write(s + "\t" + "\t".join("%.3f" % chart[s].get(c, 0) for c in cols) + "\n")
    plot = ", ".join("'%s' using %d:xtic(1) title columnheader(%d)" % (dat, i + 2, i + 2)
                     for i in range(len(cols)))
    gp = """
set terminal pngcairo size 1100,520 noenhanced
set output '%s'
set title 'req/s as a ratio to the in-process libtorch floor (median of rounds)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set xtics rotate by 30 right
set key outside top center horizontal
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot %s
""" % (os.path.join(res, "latest.png"), plot)
    r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
    if r.returncode != 0:
        print("report: gnuplot: " + r.stderr, file=sys.stderr)
    else:
        print("report: wrote %s" % os.path.join(res, "latest.png"))
print("report: wrote %s" % os.path.join(res, "latest.md"))
