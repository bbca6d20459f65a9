#!/usr/bin/python3
"""v2_bodies.py MODELS_DIR: the Open Inference Protocol (KServe v2) bodies
of resnet18's benchmark input (MODELS_DIR/resnet18_input.json, one
3x224x224 instance): resnet18_v2.json (the tensor as JSON data) and
resnet18_v2.bin (a JSON header, then the tensor's float32 bytes, the
output asked for as binary too), with resnet18_v2.hdrlen (the header's
length, for Inference-Header-Content-Length).

v2_bodies.py --check URL BODY HDRLEN EXPECTED: POSTs a body to a v2 infer
URL and compares output-0 (JSON data, or binary) with Python's answer
(EXPECTED, 1000 floats) to 1e-4 relative; exit 0 when they agree."""
import json
import os
import struct
import sys
import urllib.request


def flat(x):
    if isinstance(x, list):
        for v in x:
            yield from flat(v)
    else:
        yield x


def write(models):
    with open(os.path.join(models, "resnet18_input.json")) as f:
        data = list(flat(json.load(f)))
    shape = [1, 3, 224, 224]
    with open(os.path.join(models, "resnet18_v2.json"), "w") as f:
        json.dump({"inputs": [{"name": "input-0", "datatype": "FP32",
                               "shape": shape, "data": data}]}, f)
    header = json.dumps({
        "inputs": [{"name": "input-0", "datatype": "FP32", "shape": shape,
                    "parameters": {"binary_data_size": 4 * len(data)}}],
        "outputs": [{"name": "output-0",
                     "parameters": {"binary_data": True}}]}).encode()
    with open(os.path.join(models, "resnet18_v2.bin"), "wb") as f:
        f.write(header + struct.pack("<%df" % len(data), *data))
    with open(os.path.join(models, "resnet18_v2.hdrlen"), "w") as f:
        f.write("%d\n" % len(header))


def check(url, body, hdrlen, expected):
    with open(body, "rb") as f:
        data = f.read()
    headers = {"Content-Type": "application/json"}
    if hdrlen != "0":
        headers = {"Content-Type": "application/octet-stream",
                   "Inference-Header-Content-Length": hdrlen}
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            json_len = int(r.headers.get("Inference-Header-Content-Length")
                           or len(raw))
    except Exception as e:  # noqa: BLE001
        print("check: %s: %s" % (url, e))
        return 1
    head = json.loads(raw[:json_len])
    out = head["outputs"][0]
    if "data" in out:
        got = out["data"]
    else:
        blob = raw[json_len:json_len + out["parameters"]["binary_data_size"]]
        got = list(struct.unpack("<%df" % (len(blob) // 4), blob))
    with open(expected) as f:
        want = list(flat(json.load(f)))
    if len(got) != len(want):
        print("check: %s: %d values, expected %d" % (url, len(got), len(want)))
        return 1
    diff = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(got, want))
    print("check: %s: %s (%d values, max diff %.3g)"
          % (url, "ok" if diff <= 1e-4 else "WRONG", len(got), diff))
    return 0 if diff <= 1e-4 else 1


if __name__ == "__main__":
    if len(sys.argv) == 2:
        write(sys.argv[1])
    elif len(sys.argv) == 6 and sys.argv[1] == "--check":
        sys.exit(check(*sys.argv[2:]))
    else:
        sys.exit(__doc__)
