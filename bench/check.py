#!/usr/bin/python3
"""check.py [--type CONTENT_TYPE] [--exact | --classifier] URL BODY EXPECTED:
POSTs BODY (as CONTENT_TYPE, default application/json) to URL and compares
the JSON answer with Python's (EXPECTED) to 1e-4 relative, or, with
--exact, the answer's bytes with EXPECTED's, or, with --classifier, an
image classifier's {label: probability}: the same bytes, or the same
labels in the same order with probabilities within 1e-4; exit 0 when they
agree."""
import json
import sys
import urllib.request

args = sys.argv[1:]
ctype, exact, classifier = "application/json", False, False
while args and args[0].startswith("--"):
    if args[0] == "--type" and len(args) > 1:
        ctype = args[1]
        args = args[2:]
    elif args[0] == "--exact":
        exact = True
        args = args[1:]
    elif args[0] == "--classifier":
        classifier = True
        args = args[1:]
    else:
        sys.exit(__doc__)
if len(args) != 3:
    sys.exit(__doc__)
url, body, expected = args
with open(body, "rb") as f:
    data = f.read()
req = urllib.request.Request(url, data=data, method="POST",
                             headers={"Content-Type": ctype})
try:
    with urllib.request.urlopen(req, timeout=60) as r:
        raw = r.read()
        got = None if exact else json.loads(raw)
except Exception as e:  # noqa: BLE001
    print("check: %s: %s" % (url, e))
    sys.exit(1)
if classifier:
    with open(expected, "rb") as f:
        want_raw = f.read()
    want = json.loads(want_raw)
    if raw == want_raw:
        print("check: %s: ok (%d bytes, the same as Python's)" % (url, len(raw)))
        sys.exit(0)
    if not isinstance(got, dict) or list(got) != list(want):
        print("check: %s: labels %r, want %r" % (url, list(got)[:5] if isinstance(got, dict)
                                                  else raw[:200], list(want)))
        sys.exit(1)
    worst = max(abs(got[k] - want[k]) for k in want)
    if worst > 1e-4:
        print("check: %s: a probability differs from Python's by %g" % (url, worst))
        sys.exit(1)
    print("check: %s: ok (the same %d labels in the same order, probabilities"
          " within %.2g; not the same bytes)" % (url, len(want), worst))
    sys.exit(0)
if exact:
    with open(expected, "rb") as f:
        want = f.read()
    if raw != want:
        print("check: %s: answers %r, want %r" % (url, raw[:200], want[:200]))
        sys.exit(1)
    print("check: %s: ok (%d bytes, the same as the floor's)" % (url, len(raw)))
    sys.exit(0)
with open(expected) as f:
    want = json.load(f)


def flat(v):
    if isinstance(v, list):
        for i in v:
            yield from flat(i)
    else:
        yield v


g, w = list(flat(got)), list(flat(want))
if len(g) != len(w):
    print("check: %s: %d values, want %d" % (url, len(g), len(w)))
    sys.exit(1)
worst = max((abs(a - b) / max(1.0, abs(b)) for a, b in zip(g, w)), default=0.0)
if worst > 1e-4:
    print("check: %s: differs from Python by %g" % (url, worst))
    sys.exit(1)
print("check: %s: ok (%d values, max diff %.2g)" % (url, len(g), worst))
