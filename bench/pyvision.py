"""TorchServe's image_classifier in Python, for the vision group: the
expected answer (make_models.py) and the Flask server (py_flask_vision.py).
VisionHandler's preprocess (PIL.Image.open, here with convert("RGB"),
ImageNet's Resize(256), CenterCrop(224), ToTensor, Normalize), forward,
ImageClassifier's postprocess (softmax, topk 5, map_class_to_label with
index_to_name.json's labels), the answer as TorchServe's frontend writes
one dict (json.dumps, indent 2), as the C handler answers it."""

import io
import json

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

IMAGENET = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406],
                         std=[0.229, 0.224, 0.225]),
])


def load_labels(path):
    """index_to_name.json as TorchServe's load_label_mapping reads it: a
    list's last item is the label"""
    with open(path) as f:
        mapping = json.load(f)
    return {k: (v[-1] if isinstance(v, list) else v)
            for k, v in mapping.items()}


def classify(model, labels, body, topk=5):
    x = IMAGENET(Image.open(io.BytesIO(body)).convert("RGB")).unsqueeze(0)
    with torch.inference_mode():
        scores = model(x)
    probs, classes = torch.topk(F.softmax(scores, dim=1), topk, dim=1)
    row = {}
    for c, p in zip(classes.tolist()[0], probs.tolist()[0]):
        row[labels.get(str(c), str(c))] = p
    return json.dumps(row, indent=2)
