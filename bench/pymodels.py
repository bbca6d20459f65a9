"""Shared by py_flask.py and py_fastapi.py: loads every model listed in
$BENCH_MODELS/models.txt (TorchScript .pt), one intra-op thread, and runs
one instance (JSON nested list, no batch dimension) as TorchServe does."""
import json
import os

import torch

torch.set_num_threads(1)
DIR = os.environ.get("BENCH_MODELS", os.path.join(os.path.dirname(__file__), "models"))
MODELS = {}
with open(os.path.join(DIR, "models.txt")) as f:
    for line in f:
        name, _shape = line.split()
        m = torch.jit.load(os.path.join(DIR, name + ".pt")).eval()
        MODELS[name] = m


def predict(name, body):
    x = torch.tensor(json.loads(body), dtype=torch.float32)
    with torch.inference_mode():
        y = MODELS[name](x.unsqueeze(0))[0]
    return json.dumps(y.tolist())
