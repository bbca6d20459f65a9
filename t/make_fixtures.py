#!/usr/bin/python3
"""Makes the test and example models: small TorchScript models with fixed
seeds, trained on scikit-learn's digits where training matters, packed as
TorchServe archives in every layout torch-model-archiver writes, with the
inputs the tests send and the outputs Python computes for them.

Run with Debian's python3 (python3-torch, python3-sklearn):
    /usr/bin/python3 t/make_fixtures.py build/fixtures
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from typing import Dict, Tuple

import numpy as np
import torch
from torch import nn

ARCHIVER_VERSION = "0.12.0"


# --- models -----------------------------------------------------------------

class DigitsMLP(nn.Module):
    """8x8 digits flattened to 64 values -> probabilities of 10 classes."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), dim=-1)


class DigitsTuple(nn.Module):
    """Returns a tuple: (probabilities, predicted class)."""

    def __init__(self, mlp: DigitsMLP):
        super().__init__()
        self.mlp = mlp

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        p = self.mlp(x)
        return p, torch.argmax(p, dim=-1)


class DigitsDict(nn.Module):
    """Returns a dict of tensors."""

    def __init__(self, mlp: DigitsMLP):
        super().__init__()
        self.mlp = mlp

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        p = self.mlp(x)
        return {"probs": p, "label": torch.argmax(p, dim=-1)}


class Stats(nn.Module):
    """Any length of input: its sum and mean (for large bodies)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x.sum(-1), x.mean(-1)], dim=-1)


class Argmax(nn.Module):
    """No parameter and no gradient: what explanations cannot explain."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # any dtype (the v2 datatypes' test): compared as floats
        return torch.argmax(x.float(), dim=-1, keepdim=True).float()


class Slow(nn.Module):
    """As slow as asked: x[0] milliseconds of 128x128 matmuls (timeouts),
    rounds_per_ms of them a millisecond: slow_rounds_per_ms() measures it
    on the machine that makes the fixtures, which is the one that runs
    the tests (a fixed count took 1.5 s on one day's VM and 0.98 s on the
    next, under a 1 s response_timeout)."""

    def __init__(self, rounds_per_ms: float = 1.0):
        super().__init__()
        torch.manual_seed(5)
        self.w = nn.Parameter(torch.randn(128, 128) * 0.01,
                              requires_grad=False)
        self.rounds_per_ms = rounds_per_ms

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.w
        for _ in range(int(x[0, 0].item() * self.rounds_per_ms)):
            y = torch.tanh(y @ self.w)
        return x.sum(-1) + y.sum() * 0.0


def slow_rounds_per_ms():
    """Slow's matmul rounds in a millisecond, scripted, on one thread (the
    server's default): the fastest of 5 runs of 300 rounds."""
    slow = torch.jit.script(Slow().eval())
    x = torch.tensor([[300.0]])
    best = float("inf")
    with torch.inference_mode():
        slow(x)
        for _ in range(5):
            t0 = time.perf_counter()
            slow(x)
            best = min(best, time.perf_counter() - t0)
    return 300.0 / (best * 1000.0)


class SlowLoad(nn.Module):
    """Slow's 500 ms whatever the input: warmed up at load (input_shape=1
    warmup=3), it takes a second and a half to load."""

    def __init__(self, rounds_per_ms: float = 1.0):
        super().__init__()
        self.slow = Slow(rounds_per_ms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.slow(torch.full_like(x, 500.0)) * 0.0 + x.sum(-1)


def train_digits(seed, epochs):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)

    torch.manual_seed(seed)
    model = DigitsMLP()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    logits_model = lambda v: model.fc2(torch.relu(model.fc1(v)))

    for _ in range(epochs):
        for i in range(0, len(x), 128):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(logits_model(x[i:i + 128]),
                                               y[i:i + 128])
            loss.backward()
            opt.step()

    model.eval()
    return model, x


# --- packing (a minimal torch-model-archiver until archive_tool) ------------

def manifest(name, version, serialized, handler, model_file=None):
    model = {"modelName": name, "serializedFile": serialized,
             "handler": handler}
    if model_file:
        model["modelFile"] = model_file
    model["modelVersion"] = version
    return json.dumps({
        "createdOn": time.strftime("%d/%m/%Y %H:%M:%S"),
        "runtime": "python",
        "model": model,
        "archiverVersion": ARCHIVER_VERSION,
    }, indent=2)


def pack_mar(path, files, man, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for arcname, data in files.items():
            z.writestr(arcname, data)
        z.writestr("MAR-INF/MANIFEST.json", man)


def pack_tgz(path, name, files, man):
    with tarfile.open(path, "w:gz") as t:
        entries = dict(files)
        entries["MAR-INF/MANIFEST.json"] = man.encode()
        for arcname, data in entries.items():
            info = tarfile.TarInfo(name + "/" + arcname)
            info.size = len(data)
            info.mtime = int(time.time())
            t.addfile(info, io.BytesIO(data))


def pack_dir(path, files, man):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(os.path.join(path, "MAR-INF"))
    for arcname, data in files.items():
        with open(os.path.join(path, arcname), "wb") as f:
            f.write(data)
    with open(os.path.join(path, "MAR-INF", "MANIFEST.json"), "w") as f:
        f.write(man)


def script_bytes(module):
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buf)
    return buf.getvalue()


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


def expected(module, instances):
    """What each instance must answer, computed in Python, one at a time."""
    out = []
    with torch.inference_mode():
        for inst in instances:
            y = module(torch.tensor([inst], dtype=torch.float32))
            out.append(unbatch(y))
    return out


def integrated_gradients(module, instance, target, steps=15):
    """Captum's IntegratedGradients(module).attribute(x, target=target,
    n_steps=15) written out: zero baseline, numpy's Gauss-Legendre nodes,
    every step in one forward, torch's autograd."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    x = torch.tensor([instance], dtype=torch.float32)
    baseline = torch.zeros_like(x)
    scaled = torch.cat([baseline + a * (x - baseline)
                        for a in list(0.5 * (1 + nodes))]).requires_grad_()
    grads, = torch.autograd.grad(torch.unbind(module(scaled)[:, target]),
                                 scaled)
    sizes = torch.tensor(list(0.5 * weights)).view(steps, *[1] * x.dim())
    total = (grads.view(steps, *x.shape) * sizes).sum(0)
    return (total * (x - baseline))[0].tolist()


def unbatch(y):
    if isinstance(y, torch.Tensor):
        return y[0].tolist()
    if isinstance(y, tuple):
        return [unbatch(v) for v in y]
    if isinstance(y, dict):
        return {k: unbatch(v) for k, v in y.items()}
    return y


def archive_tool(*args):
    """Packs with our torch-model-archiver (build/archive_tool)."""
    tool = os.environ.get("ARCHIVE_TOOL") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "build",
        "archive_tool")
    subprocess.run([tool] + list(args), check=True)


def archive_tool_fixtures(out, mlp, samples, expect):
    """Archives written by archive_tool, in every format, with extra files,
    a model-config.yaml, and the MNIST eager model exported to TorchScript
    (the seeds' command with --export-torchscript)."""
    work = os.path.join(out, "at_src")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "extras", "nested"))

    pt = os.path.join(work, "digits.pt")
    torch.jit.save(torch.jit.script(mlp), pt)

    with open(os.path.join(work, "index_to_name.json"), "w") as f:
        json.dump({str(i): "digit_%d" % i for i in range(10)}, f)
    with open(os.path.join(work, "extras", "nested", "notes.txt"), "w") as f:
        f.write("nested extra file\n")
    with open(os.path.join(work, "model-config.yaml"), "w") as f:
        # deviceIds of the wrong type: ignored with a warning
        f.write("minWorkers: 2\nmaxWorkers: 3\nbatchSize: 4\n"
                "maxBatchDelay: 50\nresponseTimeout: 30\njobQueueSize: 7\n"
                "deviceIds: none\nhandler:\n  topk: 3\n")

    common = ["--model-name", "digits", "--version", "1.0",
              "--serialized-file", pt, "--handler", "tensor",
              "--extra-files",
              os.path.join(work, "index_to_name.json") + ","
              + os.path.join(work, "extras"), "-f"]
    for fmt in ("default", "zip-store", "tgz", "no-archive"):
        dest = os.path.join(out, "at_" + fmt.replace("-", "_"))
        os.makedirs(dest, exist_ok=True)
        archive_tool(*common, "--archive-format", fmt, "--export-path", dest)

    dest = os.path.join(out, "at_config")
    os.makedirs(dest, exist_ok=True)
    archive_tool(*common, "-c", os.path.join(work, "model-config.yaml"),
                 "--export-path", dest)

    # MNIST: the PyTorch example's conv net, eager, with its state_dict
    here = os.path.dirname(os.path.abspath(__file__))
    model_py = os.path.join(here, "..", "archive_tool", "tests",
                            "mnist_model.py")
    sys.path.insert(0, os.path.dirname(model_py))
    import mnist_model  # noqa: E402

    torch.manual_seed(3)
    net = mnist_model.Net().eval()
    sd = os.path.join(work, "mnist_sd.pt")
    torch.save(net.state_dict(), sd)

    for name, extra in (("at_mnist", ["--export-torchscript"]),
                        ("at_mnist_eager", [])):
        dest = os.path.join(out, name)
        os.makedirs(dest, exist_ok=True)
        archive_tool("--model-name", "mnist", "--version", "1.0",
                     "--model-file", model_py, "--serialized-file", sd,
                     "--handler", "tensor", "--export-path", dest, "-f",
                     *extra)

    # no modelFile, so only the serialized file itself says it is not
    # TorchScript: a torch.save state_dict (eager), and the same state_dict
    # in torch's legacy format (a pickle, not a zip)
    legacy = os.path.join(work, "legacy.pt")
    torch.save(net.state_dict(), legacy, _use_new_zipfile_serialization=False)
    for name, model, serialized in (("at_state_dict", "sdonly", sd),
                                    ("at_not_torchscript", "notts", legacy)):
        dest = os.path.join(out, name)
        os.makedirs(dest, exist_ok=True)
        archive_tool("--model-name", model, "--version", "1.0",
                     "--serialized-file", serialized, "--handler", "tensor",
                     "--export-path", dest, "-f")

    # the 8x8 digits, upsampled to MNIST's 1x28x28
    images = []
    for x in samples[:3]:
        img = torch.tensor(x, dtype=torch.float32).reshape(1, 1, 8, 8)
        img = torch.nn.functional.interpolate(img, size=(28, 28),
                                              mode="bilinear",
                                              align_corners=False)
        images.append(img[0].tolist())
    write_json(os.path.join(out, "mnist_samples.json"), images)
    expect["mnist"] = expected(net, images)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/fixtures"
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)

    rounds_per_ms = slow_rounds_per_ms()
    print("slow.mar: %.2f matmul rounds a millisecond" % rounds_per_ms)

    mlp, x = train_digits(seed=7, epochs=20)
    mlp2, _ = train_digits(seed=11, epochs=3)

    samples = [x[i].tolist() for i in (0, 1, 2, 3, 10)]
    write_json(os.path.join(out, "digits_input.json"), samples[0])
    write_json(os.path.join(out, "digits_samples.json"), samples)

    expect = {
        "digits": expected(mlp, samples),
        "digits_v2": expected(mlp2, samples),
        "digits_tuple": expected(DigitsTuple(mlp), samples),
        "digits_dict": expected(DigitsDict(mlp), samples),
        # explanations: sample 0 for class 0, sample 1 for class 3
        "digits_ig": [integrated_gradients(mlp, samples[0], 0),
                      integrated_gradients(mlp, samples[1], 3)],
    }

    pt = {"digits.pt": script_bytes(mlp)}
    pack_mar(os.path.join(out, "digits.mar"), pt,
             manifest("digits", "1.0", "digits.pt", "tensor"))
    pack_mar(os.path.join(out, "digits_v2.mar"),
             {"digits.pt": script_bytes(mlp2)},
             manifest("digits", "2.0", "digits.pt", "tensor"))
    pack_mar(os.path.join(out, "digits_stored.mar"), pt,
             manifest("digits", "1.0", "digits.pt", "tensor"),
             zipfile.ZIP_STORED)
    pack_tgz(os.path.join(out, "digits.tar.gz"), "digits", pt,
             manifest("digits", "1.0", "digits.pt", "tensor"))
    pack_dir(os.path.join(out, "digits"), pt,
             manifest("digits", "1.0", "digits.pt", "tensor"))

    pack_mar(os.path.join(out, "digits_tuple.mar"),
             {"m.pt": script_bytes(DigitsTuple(mlp))},
             manifest("digits_tuple", "1.0", "m.pt", "tensor"))
    pack_mar(os.path.join(out, "digits_dict.mar"),
             {"m.pt": script_bytes(DigitsDict(mlp))},
             manifest("digits_dict", "1.0", "m.pt", "tensor"))
    pack_mar(os.path.join(out, "slow.mar"),
             {"slow.pt": script_bytes(Slow(rounds_per_ms))},
             manifest("slow", "1.0", "slow.pt", "tensor"))
    pack_mar(os.path.join(out, "argmax.mar"),
             {"argmax.pt": script_bytes(Argmax())},
             manifest("argmax", "1.0", "argmax.pt", "tensor"))
    pack_mar(os.path.join(out, "stats.mar"),
             {"stats.pt": script_bytes(Stats())},
             manifest("stats", "1.0", "stats.pt", "tensor"))

    pack_mar(os.path.join(out, "slow_load.mar"),
             {"slow_load.pt": script_bytes(SlowLoad(rounds_per_ms))},
             manifest("slow_load", "1.0", "slow_load.pt", "tensor"))

    # names and versions the routes could never reach
    for file, name, version in (("bad_name.mar", "a/b", "1.0"),
                                ("bad_version.mar", "badversion", "1/2"),
                                ("version_all.mar", "versionall", "all")):
        pack_mar(os.path.join(out, file), pt,
                 manifest(name, version, "digits.pt", "tensor"))

    # a model-config.yaml whose batchSize is out of our range
    big_batch = json.loads(manifest("bigbatch", "1.0", "digits.pt", "tensor"))
    big_batch["model"]["configFile"] = "model-config.yaml"
    pack_mar(os.path.join(out, "yaml_range.mar"),
             dict(pt, **{"model-config.yaml": b"batchSize: 5000\n"}),
             json.dumps(big_batch, indent=2))

    # refused archives: an eager model and a Python handler
    sd = io.BytesIO()
    torch.save(mlp.state_dict(), sd)
    pack_mar(os.path.join(out, "eager.mar"),
             {"model.py": b"import torch\n", "eager_sd.pt": sd.getvalue()},
             manifest("eager", "1.0", "eager_sd.pt", "tensor",
                      model_file="model.py"))
    pack_mar(os.path.join(out, "pyhandler.mar"),
             {"digits.pt": pt["digits.pt"],
              "my_handler.py": b"def handle(data, ctx):\n    return data\n"},
             manifest("pyhandler", "1.0", "digits.pt", "my_handler.py"))
    pack_mar(os.path.join(out, "pyhandler_missing.mar"),
             {"digits.pt": pt["digits.pt"]},
             manifest("pymissing", "1.0", "digits.pt", "not_here.py"))

    # a body of about 1 MB for stats: 60000 numbers
    big = [((i * 37) % 1000) / 7.0 for i in range(60000)]
    write_json(os.path.join(out, "big_input.json"), big)
    with torch.inference_mode():
        expect["stats_big"] = unbatch(Stats()(torch.tensor([big])))

    archive_tool_fixtures(out, mlp, samples, expect)

    # a Python handler that sleeps as long as its body says (timeouts),
    # with a requirementsFile we do not install
    sleep_man = json.loads(manifest("sleepy", "1.0", None, "sleepy.py"))
    del sleep_man["model"]["serializedFile"]
    sleep_man["model"]["requirementsFile"] = "requirements.txt"
    pack_mar(os.path.join(out, "sleepy.mar"),
             {"sleepy.py": b"import time\n\n\n"
                           b"def handle(data, context):\n"
                           b"    if data is None:\n"
                           b"        return None\n"
                           b"    time.sleep(float(data[0]['body']))\n"
                           b"    return ['slept %s' % row['body']\n"
                           b"            for row in data]\n",
              "requirements.txt": b"transformers==4.30\n"},
             json.dumps(sleep_man, indent=2))

    # a Python handler that says which worker process ran it, after
    # sleeping as long as its body says (handing predictions over)
    who_man = json.loads(manifest("whoami", "1.0", None, "whoami.py"))
    del who_man["model"]["serializedFile"]
    pack_mar(os.path.join(out, "whoami.mar"),
             {"whoami.py": b"import os\nimport time\n\n\n"
                           b"def handle(data, context):\n"
                           b"    if data is None:\n"
                           b"        return None\n"
                           b"    time.sleep(float(data[0]['body']))\n"
                           b"    return ['pid %d\\n' % os.getpid()\n"
                           b"            for row in data]\n"},
             json.dumps(who_man, indent=2))

    # a "ts" package that is not ours (TorchServe's, say): ours must win
    fake = os.path.join(out, "other_ts", "ts")
    os.makedirs(fake, exist_ok=True)
    with open(os.path.join(fake, "__init__.py"), "w") as f:
        f.write("raise ImportError('not our ts package')\n")

    # the Python handlers' archives, inputs and answers (#11)
    subprocess.run([sys.executable,
                    os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "python", "make_python_fixtures.py"),
                    out, os.environ["ARCHIVE_TOOL"]], check=True)

    # the vision handlers' images, models and answers (#12): every script
    # in t/images/ named make_*.py, each given the fixtures folder
    images = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "images")
    for script in sorted(os.listdir(images)):
        if script.startswith("make_") and script.endswith(".py"):
            subprocess.run([sys.executable, os.path.join(images, script),
                            out, os.environ["ARCHIVE_TOOL"]], check=True)

    write_json(os.path.join(out, "expected.json"), expect)
    print("fixtures written to", out)


if __name__ == "__main__":
    main()
