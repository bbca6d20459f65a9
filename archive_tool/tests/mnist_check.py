"""The MNIST flow of cli.t, in Debian's python3-torch.

    python3 mnist_check.py make DIR
        writes DIR/mnist_sd.pt, the state_dict of mnist_model.Net with a
        fixed seed, and DIR/mnist_input.json, one digit (scikit-learn's
        8x8 digits upsampled to 1x28x28, as MNIST's normalisation).

    python3 mnist_check.py check ARCHIVE DIR
        extracts ARCHIVE's serializedFile with zipfile, loads it with
        torch.jit.load, runs it and the eager model (DIR/mnist_sd.pt) on a
        batch of digits, prints "max_abs_diff <x>" and "argmax <list>",
        and exits 1 if the outputs differ by more than 1e-5.
"""

import io
import json
import os
import sys
import zipfile

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist_model  # noqa: E402  pylint: disable=wrong-import-position


def digits(n):
    """n scikit-learn digits as MNIST-like 1x28x28 tensors."""
    from sklearn.datasets import load_digits  # pylint: disable=C0415

    data = load_digits()
    x = torch.tensor(data.images[:n], dtype=torch.float32) / 16.0
    x = F.interpolate(x.unsqueeze(1), size=(28, 28), mode="bilinear",
                      align_corners=False)
    return (x - 0.1307) / 0.3081, data.target[:n].tolist()


def make(out_dir):
    torch.manual_seed(0)
    model = mnist_model.Net()
    torch.save(model.state_dict(), os.path.join(out_dir, "mnist_sd.pt"))

    x, _ = digits(1)
    with open(os.path.join(out_dir, "mnist_input.json"), "w",
              encoding="utf-8") as f:
        json.dump(x[0].tolist(), f)


def check(archive, sd_dir):
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("MAR-INF/MANIFEST.json"))
        scripted_bytes = z.read(manifest["model"]["serializedFile"])

    scripted = torch.jit.load(io.BytesIO(scripted_bytes), map_location="cpu")
    scripted.eval()

    eager = mnist_model.Net()
    eager.load_state_dict(torch.load(os.path.join(sd_dir, "mnist_sd.pt")))
    eager.eval()

    x, _ = digits(64)
    with torch.no_grad():
        want = eager(x)
        got = scripted(x)

    diff = (want - got).abs().max().item()
    print(f"max_abs_diff {diff:.3g}")
    print(f"shape {list(got.shape)}")
    print(f"kind {type(scripted).__name__}")
    sys.exit(0 if diff <= 1e-5 and got.shape == want.shape else 1)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3])
