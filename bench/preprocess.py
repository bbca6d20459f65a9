#!/usr/bin/python3
"""
preprocess.py [RUNS]: the image_classifier's preprocessing by stage, ours
(build/bench/preprocess: ts_image_decode, ts_image_transform) against
Pillow 9.4 + torchvision 0.14, on the same photo-like JPEGs (640x480 and
1920x1080, fixed seeds: bench/vision_image.py), one core each (both pinned
to the same one), median of RUNS (default 200) after a warm-up:

  decode           ours: ts_image_decode to RGB;
                   Python: PIL.Image.open(BytesIO) + load()
  after decoding   ours: ts_image_transform on the decoded pixels;
                   Python: convert("RGB") + the torchvision Compose
                   (Resize(256), CenterCrop(224), ToTensor, Normalize)
  whole            ours: decode, transform, free;
                   Python: Image.open + convert("RGB") + the Compose

Checks that both decode to the same pixels and give the same float32
bytes.  Then, as before, the transform alone on smooth synthetic pixels
(never JPEG-coded).  Not part of the tests: `make bench-preprocess`.
"""

import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BINARY = os.path.join(TOP, "build", "bench", "preprocess")
sys.path.insert(0, os.path.join(TOP, "runtime", "tests"))
sys.path.insert(0, HERE)

from transform_reference import smooth  # noqa: E402
import vision_image  # noqa: E402

TRANSFORM = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])


def median_us(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return times[len(times) // 2]


def decode(data):
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def python_stages(data, runs):
    """{stage: median us}, the tensor, the decoded pixels"""
    img = decode(data)
    return ({"decode": median_us(lambda: decode(data), runs),
             "after decoding": median_us(
                 lambda: TRANSFORM(img.convert("RGB")), runs),
             "whole": median_us(
                 lambda: TRANSFORM(Image.open(io.BytesIO(data)).convert("RGB")),
                 runs)},
            TRANSFORM(img.convert("RGB")), np.asarray(img.convert("RGB")))


def ours(args, cpu):
    line = subprocess.run(["taskset", "-c", str(cpu), BINARY, *args],
                          check=True, capture_output=True, text=True).stdout
    res = {}
    for row in line.splitlines():
        fields = dict(kv.split("=") for kv in row.split()[1:])
        res[row.split()[0]] = float(fields["median_us"])
    return res


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    torch.set_num_threads(1)
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})

    print("medians of %d runs, one core (cpu %d), ms" % (runs, cpu))
    print("| image | stage | Pillow+torchvision ms | ours ms | speed-up "
          "| same output |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in vision_image.SIZES:
            data = vision_image.jpeg(w, h)
            path = os.path.join(tmp, "%dx%d.jpg" % (w, h))
            with open(path, "wb") as f:
                f.write(data)
            py, tensor, px = python_stages(data, runs)
            out, pixels = os.path.join(tmp, "out"), os.path.join(tmp, "px")
            c = ours(["--image", path, str(runs), out, pixels], cpu)
            with open(out, "rb") as f:
                same_t = f.read() == tensor.numpy().astype("<f4").tobytes()
            with open(pixels, "rb") as f:
                same_px = f.read() == px.tobytes()
            for stage, key, same in (("decode", "decode", same_px),
                                     ("after decoding", "transform", same_t),
                                     ("whole", "whole", same_t)):
                print("| %dx%d JPEG (%d KB) | %s | %.2f | %.2f | %.1fx | %s |"
                      % (w, h, len(data) // 1024, stage, py[stage] / 1e3,
                         c[key] / 1e3, py[stage] / c[key],
                         "pixels" if same and key == "decode"
                         else "tensor" if same else "DIFFERENT"))

        # the earlier measurement: the transform alone on raw pixels
        print("\nthe transform alone on smooth synthetic pixels (raw, never "
              "JPEG-coded), us:")
        print(f"{'image':>10} {'pillow+torchvision us':>22} {'ours us':>8} "
              f"{'speedup':>8} {'same bytes':>10}")
        for seed, (w, h) in enumerate(vision_image.SIZES):
            px = smooth(np.random.default_rng(7 + seed), w, h, 3)
            img = Image.fromarray(px, "RGB")
            py_us = median_us(lambda: TRANSFORM(img), runs)
            tensor = TRANSFORM(img)
            raw = os.path.join(tmp, "pixels")
            out = os.path.join(tmp, "out")
            with open(raw, "wb") as f:
                f.write(px.tobytes())
            ours_us = ours([raw, str(w), str(h), "3", str(runs), out],
                           cpu)["preprocess"]
            with open(out, "rb") as f:
                same = f.read() == tensor.numpy().astype("<f4").tobytes()
            print(f"{w}x{h:<5} {py_us:>22.1f} {ours_us:>8.1f} "
                  f"{py_us / ours_us:>7.1f}x {str(same):>10}")


if __name__ == "__main__":
    main()
