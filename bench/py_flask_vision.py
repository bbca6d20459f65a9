"""Flask + Pillow + torchvision + torch, TorchServe's image_classifier on
resnet18 (run under gunicorn, sync workers): the body is the image."""
import os

import torch
from flask import Flask, Response, request

import pyvision

torch.set_num_threads(1)
DIR = os.environ.get("BENCH_MODELS", os.path.join(os.path.dirname(__file__), "models"))
MODEL = torch.jit.load(os.path.join(DIR, "resnet18.pt")).eval()
LABELS = pyvision.load_labels(os.path.join(DIR, "vision", "index_to_name.json"))

app = Flask(__name__)


@app.route("/predictions/<name>", methods=["POST", "PUT"])
def predictions(name):
    if name != "resnet18_vision":
        return Response('{"code": 404}', status=404, mimetype="application/json")
    return Response(pyvision.classify(MODEL, LABELS, request.get_data()),
                    mimetype="application/json")
