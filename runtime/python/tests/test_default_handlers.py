"""The other default handlers (image_segmenter, object_detector,
text_classifier) against the same computation written directly, the
metrics handlers record, and what fails clearly without torchtext."""

import io
import json
import os
import pickle
import sys
import types

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

from ts import _embed
from ts.metrics.metric_type_enum import MetricTypes
from ts.torch_handler.text_handler import TextHandler

from .model_dirs import ModelDirTest, request
from .test_image_classifier import picture

SEGMENTER_MODEL = """\
    import torch
    from torch import nn


    class Segmenter(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, x):
            return {"out": self.conv(nn.functional.avg_pool2d(x, 32))}
    """

DETECTOR_MODEL = """\
    import torch
    from torch import nn


    class Detector(nn.Module):
        # per image: three boxes scored by the image's mean colour
        def forward(self, images):
            answers = []
            for image in images:
                m = image.mean(dim=(1, 2))
                answers.append({
                    "boxes": torch.tensor([[0.0, 0.0, 1.0, 1.0],
                                           [1.0, 2.0, 3.0, 4.0],
                                           [5.0, 6.0, 7.0, 8.0]]),
                    "labels": torch.tensor([1, 2, 3]),
                    "scores": torch.stack([m[0], 1 - m[0], m[1] * 0 + 0.5]),
                })
            return answers
    """

TEXT_MODEL = """\
    import torch
    from torch import nn


    class BagClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.embedding = nn.EmbeddingBag(8, 4, mode="mean")
            self.fc = nn.Linear(4, 3)

        def forward(self, ids, offsets):
            return self.fc(self.embedding(ids, offsets))
    """

VOCAB = {"<unk>": 0, "it": 1, "is": 2, "not": 3, "good": 4,
         "is not": 5, "not good": 6, "it is": 7}


def dedent_exec(source, name):
    import textwrap
    namespace = {}
    exec(textwrap.dedent(source), namespace)
    return namespace[name]


class Segmenter(ModelDirTest):
    def test_answer_is_exact(self):
        model_dir = self.model_dir({"seg.py": SEGMENTER_MODEL},
                                   "image_segmenter", model_file="seg.py",
                                   serialized_file="seg.pth")
        torch.manual_seed(0)
        model = dedent_exec(SEGMENTER_MODEL, "Segmenter")().eval()
        torch.save(model.state_dict(), os.path.join(model_dir, "seg.pth"))
        service = self.load(model_dir)
        png = picture(256, 256, "PNG")
        answer = service.handle([request(png, "image/png")])[0]

        transform = transforms.Compose([
            transforms.Resize(256), transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406],
                                 [0.229, 0.224, 0.225])])
        with torch.no_grad():
            out = model(transform(Image.open(io.BytesIO(png)))[None])["out"]
        best = F.softmax(out, dim=1).max(dim=1)
        pairs = torch.stack([best.indices.float(), best.values], dim=3)
        self.assertEqual(answer[2], json.dumps(pairs.tolist()[0],
                                               indent=2).encode())


class Detector(ModelDirTest):
    def test_keeps_scores_from_half_up(self):
        files = {"det.py": DETECTOR_MODEL,
                 "index_to_name.json": '{"1": "cat", "2": "dog", "3": "x"}'}
        service = self.load_files(files, handler="object_detector",
                                  model_file="det.py")
        png = picture(40, 30, "PNG", seed=9)
        answer = json.loads(service.handle([request(png)])[0][2])
        mean = transforms.ToTensor()(Image.open(io.BytesIO(png))).mean(
            dim=(1, 2))
        expected = []
        for label, box, score in (("cat", [0.0, 0.0, 1.0, 1.0], mean[0]),
                                  ("dog", [1.0, 2.0, 3.0, 4.0], 1 - mean[0]),
                                  ("x", [5.0, 6.0, 7.0, 8.0], 0.5)):
            score = torch.as_tensor(score, dtype=torch.float32).item()
            if score >= 0.5:
                expected.append({label: box, "score": score})
        self.assertEqual(answer, expected)


class TextClassifier(ModelDirTest):
    def service(self):
        model_dir = self.model_dir({"bag.py": TEXT_MODEL}, "text_classifier",
                                   model_file="bag.py")
        torch.save(VOCAB, os.path.join(model_dir, "source_vocab.pt"))
        return self.load(model_dir)

    def test_pipeline(self):
        service = self.service()
        text = "<b>It isn't</b> GOOD!"
        answer = service.handle([request(text.encode(), "text/plain")])[0]
        # cleaned: "it is not good" -> unigrams, then bigrams
        ids = torch.tensor([VOCAB[t] for t in
                            ["it", "is", "not", "good", "it is", "is not",
                             "not good"]])
        model = dedent_exec(TEXT_MODEL, "BagClassifier")().eval()
        with torch.no_grad():
            probs = F.softmax(model(ids, torch.tensor([0])), dim=-1)
        expected = {str(i): p for i, p in enumerate(probs[0].tolist())}
        self.assertEqual(answer[2], json.dumps(expected, indent=2).encode())

    def test_unknown_words_use_unk(self):
        service = self.service()
        answer = service.handle([request(b"zebra", "text/plain")])[0]
        self.assertEqual(answer[0], 200)

    def test_torchtext_vocab_fails_clearly(self):
        model_dir = self.model_dir({"bag.py": TEXT_MODEL}, "text_classifier",
                                   model_file="bag.py")
        # a pickle naming torchtext's Vocab class, as TorchServe's
        # source_vocab.pt files do
        fake = types.ModuleType("torchtext.vocab")

        class Vocab(dict):
            pass

        Vocab.__module__ = "torchtext.vocab"
        Vocab.__qualname__ = "Vocab"
        fake.Vocab = Vocab
        package = types.ModuleType("torchtext")
        package.vocab = fake
        sys.modules.update({"torchtext": package, "torchtext.vocab": fake})
        try:
            torch.save(Vocab(VOCAB), os.path.join(model_dir,
                                                  "source_vocab.pt"),
                       pickle_module=pickle)
        finally:
            del sys.modules["torchtext.vocab"], sys.modules["torchtext"]
        with self.assertRaises(_embed.LoadError) as caught:
            self.load(model_dir)
        self.assertIn("torchtext is not installed", caught.exception.message)

    def test_clean_up_steps(self):
        handler = TextHandler()
        self.assertEqual(handler._expand_contractions("Don't we'll"),
                         "Do not we will")
        self.assertEqual(handler._remove_accented_characters("café"), "cafe")
        self.assertEqual(handler._remove_html_tags("a<br/>b&amp;c"), "abc")
        self.assertEqual(handler._remove_punctuation("a,b.c!"), "abc")


class Metrics(ModelDirTest):
    FILES = {"handler.py": """\
        import torch
        from ts.torch_handler.base_handler import BaseHandler


        class Handler(BaseHandler):
            def initialize(self, context):
                self.model = torch.nn.Identity()

            def preprocess(self, data):
                self.context.metrics.add_counter("Rows", len(data))
                self.context.metrics.add_size("Body", 1.5, idx=0)
                self.context.metrics.add_percent("Share", 50)
                return torch.tensor([row["body"] for row in data])
        """}

    def test_handler_metrics_are_recorded(self):
        files = dict(self.FILES, **{"model-config.yaml":
                                    "handler:\n  profile: true\n"})
        service = self.load_files(files, configFile="model-config.yaml")
        body = json.dumps(1).encode()
        for _ in range(2):
            service.handle([request(body, "application/json")] * 2)
        metrics = service.instances[0].context.metrics
        rows = metrics.get_metric("Rows", MetricTypes.COUNTER)
        self.assertEqual(rows.unit, "count")
        self.assertEqual(list(rows.series.values())[0][0], 4)  # counted up
        # @timed methods only: this handler's own preprocess is not one
        for name in ("HandlerTime", "PredictionTime", "ts_handler_inference",
                     "ts_handler_postprocess", "Share"):
            metric = metrics.get_metric(name, MetricTypes.GAUGE)
            self.assertEqual(list(metric.series.values())[0][1], 2, name)
        with self.assertRaises(KeyError):
            metrics.get_metric("ts_handler_preprocess", MetricTypes.GAUGE)
        body_size = metrics.get_metric("Body", MetricTypes.GAUGE)
        self.assertEqual(body_size.unit, "MB")
        self.assertEqual(body_size.dimension_names, ["ModelName", "Level"])

    def test_bad_time_unit(self):
        from ts.metrics.metric_cache import MetricsCache
        with self.assertRaises(ValueError):
            MetricsCache("m").add_time("T", 1, unit="h")
