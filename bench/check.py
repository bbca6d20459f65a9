#!/usr/bin/python3
"""check.py URL BODY EXPECTED: POSTs BODY to URL and compares the JSON answer
with Python's (EXPECTED) to 1e-4 relative; exit 0 when they agree."""
import json
import sys
import urllib.request

url, body, expected = sys.argv[1:4]
with open(body, "rb") as f:
    data = f.read()
req = urllib.request.Request(url, data=data, method="POST",
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=60) as r:
        got = json.loads(r.read())
except Exception as e:  # noqa: BLE001
    print("check: %s: %s" % (url, e))
    sys.exit(1)
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
