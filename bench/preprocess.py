#!/usr/bin/python3
"""
preprocess.py [RUNS]: the image_classifier's transform after decoding,
ours (build/bench/preprocess, ts_image_transform) against Pillow 9.4 +
torchvision 0.14 (Resize(256), CenterCrop(224), ToTensor, Normalize), on
the same decoded RGB pixels (640x480 and 1920x1080, fixed seeds), one core
each, median of RUNS (default 200) after a warm-up.  Checks that both give
the same float32 bytes.  Not part of the tests: `make bench-preprocess`.
"""

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(TOP, "build", "bench", "preprocess")
sys.path.insert(0, os.path.join(TOP, "runtime", "tests"))

from transform_reference import smooth  # noqa: E402

TRANSFORM = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])


def time_python(img, runs):
    TRANSFORM(img)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        tensor = TRANSFORM(img)
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return times[len(times) // 2], tensor


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    torch.set_num_threads(1)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    print(f"{'image':>10} {'pillow+torchvision us':>22} {'ours us':>8} "
          f"{'speedup':>8} {'same bytes':>10}")

    with tempfile.TemporaryDirectory() as tmp:
        for seed, (w, h) in enumerate(((640, 480), (1920, 1080))):
            px = smooth(np.random.default_rng(7 + seed), w, h, 3)
            img = Image.fromarray(px, "RGB")
            py_us, tensor = time_python(img, runs)

            raw = os.path.join(tmp, "pixels")
            out = os.path.join(tmp, "out")
            with open(raw, "wb") as f:
                f.write(px.tobytes())
            line = subprocess.run(
                ["taskset", "-c", str(min(os.sched_getaffinity(0))), BINARY,
                 raw, str(w), str(h), "3", str(runs), out],
                check=True, capture_output=True, text=True).stdout
            fields = dict(kv.split("=") for kv in line.split()[1:])
            ours_us = float(fields["median_us"])
            with open(out, "rb") as f:
                same = f.read() == tensor.numpy().astype("<f4").tobytes()

            print(f"{w}x{h:<5} {py_us:>22.1f} {ours_us:>8.1f} "
                  f"{py_us / ours_us:>7.1f}x {str(same):>10}")


if __name__ == "__main__":
    main()
