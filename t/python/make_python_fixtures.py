#!/usr/bin/python3
"""Makes the Python-handler fixtures (#11): weights with fixed seeds, test
inputs, archives packed by archive_tool with torch-model-archiver's command
lines from the tutorials, and DIR/python_expected.json, the answers the
server must give, computed here directly with torch and torchvision (not
through our ts package).

    /usr/bin/python3 t/python/make_python_fixtures.py DIR ARCHIVE_TOOL

DIR gets the archives (mnist.mar, mnist_tiny.mar, greedy_time.mar,
densenet.mar, ner.mar, iso_a.mar, iso_b.mar, py_raise.mar, py_mismatch.mar, py_import_error.mar,
py_status.mar), the inputs (mnist_digit.png, densenet_input.jpg,
greedy_time.json, ner_sentence.txt, iso_input.json) and
python_expected.json; what the archives are made from goes to DIR/py_src/.

python_expected.json has one entry per flow:
  archive, model_name, handler     which archive, and its manifest's handler
  input, request_content_type      the body to send and its Content-Type
  status                           the HTTP status of the answer
  body                             the answer's bytes (as str), 200 flows
  response_content_type, phrase, headers   what the handler set (or not)
  message                          a failed batch's message (BatchError)
  load_error                       the load's message (LoadError)
Expected values are computed with one intra-op thread, one request per
batch, as the server runs by default."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MNIST_MODEL = os.path.join(REPO, "archive_tool", "tests", "mnist_model.py")
MNIST_TINY_MODEL = os.path.join(HERE, "mnist_tiny_model.py")

IMAGENET = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406],
                         std=[0.229, 0.224, 0.225]),
])

GREEDY_TIME_INPUT = {"feature": [[0.6, 0.4], [0.3, 0.7], [0.2, 0.8],
                                 [0.9, 0.1]], "start": 1}

NER_SENTENCE = "John lives in New York with Mary\n"
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
# word -> the label its hand-set weights point to
NER_VOCAB = {"<unk>": "O", "john": "B-PER", "mary": "B-PER",
             "lives": "O", "in": "O", "with": "O", "new": "B-LOC",
             "york": "I-LOC", "paris": "B-LOC"}


# --- helpers -----------------------------------------------------------------

def answer(item):
    """The bytes the server answers for one handler output item."""
    return json.dumps(item, indent=2)


def module_from(path, name):
    """A model definition file, imported by path (no sys.path change)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


class Packer:
    """Runs archive_tool with export path DIR and remembers the flows."""

    def __init__(self, out, tool):
        self.out = out
        self.tool = tool
        self.src = os.path.join(out, "py_src")
        self.expected = {}

    def work(self, flow):
        path = os.path.join(self.src, flow)
        os.makedirs(path, exist_ok=True)
        return path

    def pack(self, *args):
        subprocess.run([self.tool, *args, "--export-path", self.out, "-f"],
                       check=True)

    def flow(self, key, model_name, handler, **entry):
        self.expected[key] = dict(archive=model_name + ".mar",
                                  model_name=model_name, handler=handler,
                                  **entry)


def ok(body, request_content_type, input_file, content_type=
       "application/json"):
    return dict(input=input_file, request_content_type=request_content_type,
                status=200, phrase="", body=body,
                response_content_type=content_type, headers=[])


# --- the tutorials' flows ----------------------------------------------------

def digit_png(path):
    """A hand-drawn-looking 0 on MNIST's 28x28 grey canvas."""
    image = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(image).ellipse((8, 5, 20, 23), outline=255, width=3)
    image.save(path, "PNG")


def mnist_flow(packer, name, model_file):
    """The MNIST tutorial's command line on model_file's Net; answers the
    net and the input tensor."""
    work = packer.work(name)
    torch.manual_seed(0)
    net = module_from(model_file, name + "_model").Net().eval()
    weights = os.path.join(work, name + "_sd.pt")
    torch.save(net.state_dict(), weights)
    png = os.path.join(packer.out, "mnist_digit.png")
    digit_png(png)

    packer.pack("--model-name", name, "--version", "1.0",
                "--model-file", model_file, "--serialized-file", weights,
                "--handler", os.path.join(HERE, "mnist_handler.py"))
    x = transforms.ToTensor()(Image.open(png)).unsqueeze(0)
    with torch.no_grad():
        digit = net(x).argmax(1).tolist()[0]
    packer.flow(name, name, "mnist_handler.py",
                **ok(answer(digit), "image/png", "mnist_digit.png"))
    return net, x


def mnist(packer):
    net, x = mnist_flow(packer, "mnist", MNIST_MODEL)
    # /explanations/mnist: Integrated Gradients for class 0, Captum's way
    packer.expected["mnist"]["explanation"] = \
        integrated_gradients(net, x, 0)[0].tolist()


def integrated_gradients(module, x, target, steps=15):
    """Captum's IntegratedGradients(module).attribute(x, target=target,
    n_steps=15) written out (zero baseline, numpy's Gauss-Legendre nodes),
    not through our ts package."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    baseline = torch.zeros_like(x)
    scaled = torch.cat([baseline + a * (x - baseline)
                        for a in list(0.5 * (1 + nodes))]).requires_grad_()
    grads, = torch.autograd.grad(torch.unbind(module(scaled)[:, target]),
                                 scaled)
    sizes = torch.tensor(list(0.5 * weights)).view(steps, *[1] * x.dim())
    total = (grads.view(steps, *x.shape) * sizes).sum(0)
    return (total * (x - baseline)).detach()


def greedy_time(packer):
    path = os.path.join(packer.out, "greedy_time.json")
    write_json(path, GREEDY_TIME_INPUT)
    packer.pack("--model-name", "greedy_time",
                "--model-file", os.path.join(HERE, "greedy_time.py"),
                "--handler", os.path.join(HERE, "greedy_time_handler.py"),
                "--runtime", "python3", "--version", "1.0")
    # best class per step from `start`, runs collapsed
    feature = torch.tensor(GREEDY_TIME_INPUT["feature"])
    best = feature[GREEDY_TIME_INPUT["start"]:].argmax(dim=1).tolist()
    decoded = [c for i, c in enumerate(best) if i == 0 or c != best[i - 1]]
    assert decoded == [1, 0], decoded
    packer.flow("greedy_time", "greedy_time", "greedy_time_handler.py",
                **ok(answer(decoded), "application/json",
                     "greedy_time.json"))


def photo_jpeg(path):
    """A 320x240 RGB picture: gradients and a few shapes."""
    image = Image.new("RGB", (320, 240))
    pixels = image.load()
    for y in range(240):
        for x in range(320):
            pixels[x, y] = (x * 255 // 319, y * 255 // 239, (x + y) % 256)
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 30, 150, 140), fill=(250, 200, 20))
    draw.rectangle((180, 120, 300, 220), fill=(30, 60, 200))
    image.save(path, "JPEG", quality=90)


def densenet(packer):
    work = packer.work("densenet")
    model_py = os.path.join(HERE, "densenet_model.py")
    torch.manual_seed(0)
    net = module_from(model_py, "densenet_model").TinyDenseNet().eval()
    weights = os.path.join(work, "densenet_sd.pth")
    torch.save(net.state_dict(), weights)
    labels = {str(i): ["n%08d" % i, "class_%d" % i] for i in range(10)}
    labels_file = os.path.join(work, "index_to_name.json")
    write_json(labels_file, labels)
    jpeg = os.path.join(packer.out, "densenet_input.jpg")
    photo_jpeg(jpeg)

    packer.pack("--model-name", "densenet", "--version", "1.0",
                "--model-file", model_py, "--serialized-file", weights,
                "--extra-files", labels_file, "--handler", "image_classifier")
    x = IMAGENET(Image.open(jpeg)).unsqueeze(0)
    with torch.no_grad():
        probs, classes = torch.topk(F.softmax(net(x), dim=1), 5, dim=1)
    top5 = {labels[str(c)][-1]: p
            for c, p in zip(classes[0].tolist(), probs[0].tolist())}
    packer.flow("densenet", "densenet", "image_classifier",
                **ok(answer(top5), "image/jpeg", "densenet_input.jpg"))


def ner_weights(tagger_class):
    """Hand-set weights: each word's embedding points at its label (with a
    little seeded noise), the classifier reads the label back."""
    torch.manual_seed(0)
    size = len(NER_LABELS)
    model = tagger_class(len(NER_VOCAB), size, size).eval()
    with torch.no_grad():
        for i, label in enumerate(NER_VOCAB.values()):
            row = torch.zeros(size)
            row[NER_LABELS.index(label)] = 3.0
            model.embedding.weight[i] = row + 0.1 * torch.randn(size)
        model.classifier.weight.copy_(torch.eye(size) +
                                      0.05 * torch.randn(size, size))
        model.classifier.bias.zero_()
    return model


def ner(packer):
    work = packer.work("ner")
    model_py = os.path.join(HERE, "ner_model.py")
    model = ner_weights(module_from(model_py, "ner_model").TokenTagger)
    weights = os.path.join(work, "ner_sd.pt")
    torch.save(model.state_dict(), weights)
    config = os.path.join(work, "ner_config.json")
    write_json(config, {"vocab": list(NER_VOCAB),
                        "embedding_dim": len(NER_LABELS),
                        "num_labels": len(NER_LABELS)})
    labels = os.path.join(work, "index_to_name.json")
    write_json(labels, {str(i): name for i, name in enumerate(NER_LABELS)})
    with open(os.path.join(packer.out, "ner_sentence.txt"), "w") as f:
        f.write(NER_SENTENCE)

    packer.pack("--model-name", "ner", "--version", "1.0",
                "--model-file", model_py, "--serialized-file", weights,
                "--extra-files", config + "," + labels,
                "--handler", os.path.join(HERE, "ner_handler.py"))
    words = NER_SENTENCE.split()
    vocab = list(NER_VOCAB)
    ids = torch.tensor([vocab.index(w.lower()) if w.lower() in vocab else 0
                        for w in words])
    with torch.no_grad():
        tags = model(ids).argmax(dim=-1).tolist()
    tagged = [{"word": w, "entity": NER_LABELS[t]}
              for w, t in zip(words, tags)]
    packer.flow("ner", "ner", "ner_handler.py",
                **ok(answer(tagged), "text/plain", "ner_sentence.txt"))


# --- isolation and failures --------------------------------------------------

def isolation(packer):
    write_json(os.path.join(packer.out, "iso_input.json"), [1, 2])
    for name, factor in (("iso_a", 2), ("iso_b", 3)):
        src = os.path.join(HERE, name)
        packer.pack("--model-name", name, "--version", "1.0",
                    "--model-file", os.path.join(src, "model.py"),
                    "--handler", os.path.join(src, "handler.py"))
        out = {"archive": name[-1], "out": [1 * factor, 2 * factor]}
        packer.flow(name, name, "handler.py",
                    **ok(answer(out), "application/json", "iso_input.json"))


def import_error_line():
    with open(os.path.join(HERE, "import_error_handler.py")) as f:
        for number, line in enumerate(f, 1):
            if line.startswith("import not_installed_module"):
                return number
    raise AssertionError("import_error_handler.py lost its import")


def failures(packer):
    def pack(model_name, handler):
        packer.pack("--model-name", model_name, "--version", "1.0",
                    "--handler", os.path.join(HERE, handler))

    request = dict(input="iso_input.json",
                   request_content_type="application/json")
    pack("py_raise", "raise_handler.py")
    packer.flow("py_raise", "py_raise", "raise_handler.py", status=503,
                message="Prediction failed: ValueError: this handler "
                        "always fails", **request)
    pack("py_mismatch", "mismatch_handler.py")
    packer.flow("py_mismatch", "py_mismatch", "mismatch_handler.py",
                status=503, message="number of batch response mismatched",
                **request)
    pack("py_import_error", "import_error_handler.py")
    packer.flow("py_import_error", "py_import_error",
                "import_error_handler.py",
                load_error="ModuleNotFoundError: No module named "
                           "'not_installed_module' "
                           "(import_error_handler.py:{})".format(
                               import_error_line()), **request)
    pack("py_status", "status_handler.py")
    packer.flow("py_status", "py_status", "status_handler.py", status=599,
                phrase="Custom Status", body="custom answer\n",
                response_content_type="text/plain",
                # the id: the one runtime/python/tests gives ("req-<flow>")
                headers=[["X-Custom-Header", "yes"],
                         ["X-Handler-Request-Id", "req-py_status"]],
                **request)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_python_fixtures.py DIR ARCHIVE_TOOL")
    out, tool = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    shutil.rmtree(os.path.join(out, "py_src"), ignore_errors=True)
    torch.set_num_threads(1)
    packer = Packer(out, tool)
    # the same handler on a linear net, for bench/valgrind_serve.sh
    def mnist_tiny(packer):
        mnist_flow(packer, "mnist_tiny", MNIST_TINY_MODEL)

    for make in (mnist, mnist_tiny, greedy_time, densenet, ner, isolation,
                 failures):
        make(packer)
    write_json(os.path.join(out, "python_expected.json"), packer.expected)


if __name__ == "__main__":
    main()
