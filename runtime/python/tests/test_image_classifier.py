"""The built-in image_classifier gives TorchServe's exact answers: checked
against the same computation written directly with torchvision."""

import base64
import io
import json
import os

import numpy
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

from ts import _embed

from .model_dirs import ModelDirTest, request

TINY_CNN = """\
    import torch
    from torch import nn


    class TinyCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 5, stride=4)
            self.fc = nn.Linear(4 * 4 * 4, 10)

        def forward(self, x):
            x = torch.relu(self.conv(x))
            x = nn.functional.adaptive_avg_pool2d(x, 4)
            return self.fc(torch.flatten(x, 1))
    """

LABELS = {str(i): "label%d" % i for i in range(10)}


def tiny_cnn(model_dir):
    """The archive's TinyCNN with seed-0 weights, saved as its state_dict."""
    namespace = {}
    import textwrap
    exec(textwrap.dedent(TINY_CNN), namespace)
    torch.manual_seed(0)
    model = namespace["TinyCNN"]().eval()
    torch.save(model.state_dict(), os.path.join(model_dir, "cnn.pth"))
    return model


def picture(width, height, fmt, seed=1):
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (height, width, 3), generator=generator,
                           dtype=torch.uint8)
    image = Image.fromarray(pixels.numpy(), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def expected_answers(model, images, mapping=None):
    """The same computation, written directly."""
    transform = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    batch = torch.stack([transform(Image.open(io.BytesIO(image)))
                         for image in images])
    with torch.no_grad():
        probs, classes = torch.topk(F.softmax(model(batch), dim=1), 5, dim=1)
    answers = []
    for row_probs, row_classes in zip(probs.tolist(), classes.tolist()):
        label = (lambda c: mapping[str(c)]) if mapping else str
        answers.append(json.dumps(
            {label(c): p for c, p in zip(row_classes, row_probs)},
            indent=2).encode())
    return answers


class ImageClassifier(ModelDirTest):
    def service(self, labels=False):
        files = {"tiny_cnn.py": TINY_CNN}
        if labels:
            files["index_to_name.json"] = json.dumps(LABELS)
        model_dir = self.model_dir(files, "image_classifier",
                                   model_file="tiny_cnn.py",
                                   serialized_file="cnn.pth")
        model = tiny_cnn(model_dir)
        return self.load(model_dir, batch_size=2), model

    def test_png_answer_is_exact(self):
        service, model = self.service()
        png = picture(300, 260, "PNG")
        answer = service.handle([request(png, "image/png")])[0]
        self.assertEqual(answer[:2], (200, ""))
        self.assertEqual(answer[2], expected_answers(model, [png])[0])
        self.assertEqual(len(json.loads(answer[2])), 5)  # topk = 5

    def test_jpeg_batch_with_labels(self):
        service, model = self.service(labels=True)
        images = [picture(320, 240, "JPEG", seed) for seed in (2, 3)]
        answers = service.handle([request(image) for image in images])
        self.assertEqual([a[2] for a in answers],
                         expected_answers(model, images, LABELS))
        self.assertTrue(all(key.startswith("label")
                            for key in json.loads(answers[0][2])))

    def test_base64_text_body(self):
        service, model = self.service()
        png = picture(256, 256, "PNG", seed=4)
        text = base64.b64encode(png)
        answer = service.handle([request(text, "text/plain")])[0]
        self.assertEqual(answer[2], expected_answers(model, [png])[0])

    def test_multipart_data_field(self):
        service, model = self.service()
        png = picture(224, 300, "PNG", seed=5)
        body = (b"--b\r\nContent-Disposition: form-data; name=\"data\"; "
                b"filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n" +
                png + b"\r\n--b--\r\n")
        answer = service.handle([request(body,
                                         "multipart/form-data; boundary=b")])
        self.assertEqual(answer[0][2], expected_answers(model, [png])[0])

    def test_explain_is_captums_integrated_gradients(self):
        service, model = self.service()
        png = picture(64, 64, "PNG")
        answer = service.handle([request(png, explain=True)])
        self.assertEqual(answer[0][0], 200)
        got = torch.tensor(json.loads(answer[0][2]))
        # Captum's gausslegendre IG for class 0, written out here
        transform = transforms.Compose([
            transforms.Resize(256), transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406],
                                 [0.229, 0.224, 0.225])])
        x = transform(Image.open(io.BytesIO(png))).unsqueeze(0)
        nodes, weights = numpy.polynomial.legendre.leggauss(15)
        scaled = torch.cat([a * x for a in list(0.5 * (1 + nodes))])
        scaled.requires_grad_()
        grads, = torch.autograd.grad(torch.unbind(model(scaled)[:, 0]),
                                     scaled)
        sizes = torch.tensor(list(0.5 * weights)).view(15, 1, 1, 1, 1)
        want = ((grads.view(15, *x.shape) * sizes).sum(0) * x)[0]
        self.assertEqual(got.shape, (3, 224, 224))
        self.assertLess((got - want).abs().max().item(), 1e-5)
