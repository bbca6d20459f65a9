#!/usr/bin/python3
"""Makes the benchmark models, with fixed seeds, as TorchScript files and
TorchServe archives (packed by build/archive_tool, handler "tensor"), plus a
JSON request body (one instance, no batch dimension) and the answer Python
computes for it.

    /usr/bin/python3 bench/make_models.py OUTDIR

tiny      the PyTorch MNIST example CNN (examples/mnist/main.py), 1x28x28
resnet18  torchvision's resnet18 with random weights, 3x224x224
          (skipped, with a message, when python3-torchvision is missing)

Writes OUTDIR/<name>.pt, <name>.mar, <name>_input.json, <name>_expected.json
and models.txt (one "name shape" line per model made).

With resnet18, the vision group's model: the same resnet18.pt packed with
--handler image_classifier and a labels file (vision/index_to_name.json,
TorchServe's densenet shape, "class_N") as resnet18_vision.mar; its body,
resnet18_vision_input.jpg (bench/vision_image.py's 640x480 JPEG), and
TorchServe's answer for it computed in Python (bench/pyvision.py),
resnet18_vision_expected.json.
"""

import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHIVE_TOOL = os.environ.get("ARCHIVE_TOOL") or os.path.join(
    HERE, "..", "build", "archive_tool")


# the MNIST example network, as the archive_tool tests define it
sys.path.insert(0, os.path.join(HERE, "..", "archive_tool", "tests"))
sys.path.insert(0, HERE)
from mnist_model import Net  # noqa: E402


def make(out, name, net, shape, seed):
    net = net.eval()
    pt = os.path.join(out, name + ".pt")
    with torch.inference_mode():
        scripted = torch.jit.script(net)
    torch.jit.save(scripted, pt)

    g = torch.Generator().manual_seed(seed + 1)
    x = torch.rand(shape, generator=g)
    # round to values that JSON carries exactly (float32 -> short decimals)
    x = torch.round(x * 1024) / 1024
    with open(os.path.join(out, name + "_input.json"), "w") as f:
        json.dump(x.tolist(), f)

    loaded = torch.jit.load(pt).eval()
    with torch.inference_mode():
        y = loaded(x.unsqueeze(0))[0]
    with open(os.path.join(out, name + "_expected.json"), "w") as f:
        json.dump(y.tolist(), f)

    subprocess.run([ARCHIVE_TOOL, "--model-name", name, "--version", "1.0",
                    "--serialized-file", pt, "--handler", "tensor",
                    "--export-path", out, "-f"], check=True)
    return ",".join(str(d) for d in shape)


def make_vision(out, pt):
    import pyvision
    import vision_image

    folder = os.path.join(out, "vision")
    os.makedirs(folder, exist_ok=True)
    labels = os.path.join(folder, "index_to_name.json")
    with open(labels, "w") as f:
        json.dump({str(i): ["n%08d" % (1440764 + i), "class_%d" % i]
                   for i in range(1000)}, f)
    body = vision_image.jpeg(640, 480)
    with open(os.path.join(out, "resnet18_vision_input.jpg"), "wb") as f:
        f.write(body)
    answer = pyvision.classify(torch.jit.load(pt).eval(),
                               pyvision.load_labels(labels), body)
    with open(os.path.join(out, "resnet18_vision_expected.json"), "w") as f:
        f.write(answer)
    subprocess.run([ARCHIVE_TOOL, "--model-name", "resnet18_vision",
                    "--version", "1.0", "--serialized-file", pt,
                    "--handler", "image_classifier",
                    "--extra-files", labels,
                    "--export-path", out, "-f"], check=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "models")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    made = []

    torch.manual_seed(1)
    made.append(("tiny", make(out, "tiny", Net(), (1, 28, 28), 1)))

    try:
        import torchvision
    except ImportError:
        print("make_models: python3-torchvision is missing: no resnet18",
              file=sys.stderr)
    else:
        torch.manual_seed(18)
        made.append(("resnet18",
                     make(out, "resnet18",
                          torchvision.models.resnet18(weights=None),
                          (3, 224, 224), 18)))
        make_vision(out, os.path.join(out, "resnet18.pt"))

    with open(os.path.join(out, "models.txt"), "w") as f:
        for name, shape in made:
            f.write("%s %s\n" % (name, shape))
    for name, shape in made:
        print("make_models: %s (%s) in %s" % (name, shape, out))


if __name__ == "__main__":
    main()
