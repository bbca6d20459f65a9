#!/usr/bin/python3
"""Makes the C vision handlers' fixtures (#12): TorchScript models with
fixed seeds behind image_classifier, image_segmenter and object_detector,
packed by archive_tool with torch-model-archiver's command lines, test
images in the forms clients send, and the answers TorchServe's Python
computes for them, written here directly with PIL, torchvision and torch
(TorchServe's handler code in a few lines, not our ts package).

    /usr/bin/python3 t/images/make_vision_fixtures.py DIR ARCHIVE_TOOL

DIR gets vision_cls.mar, vision_probe.mar, vision_mnist.mar,
vision_mnist_tiny.mar (a linear net, for bench/valgrind_serve.sh),
vision_seg.mar, vision_det.mar, vision_limit.mar (max_image_pixels: 1000),
vision_badcfg.mar (a handler section we refuse); DIR/vision/ the images (bad_* are hostile
ones); DIR/vision_expected.json:
  images                      the image files, in the order of the answers
  cls[image], mnist[image], mnist_tiny[image], seg[image], det[image]
                              an answer's text
  probe[image]                vision/probe_<image>.f32: the preprocessed
                              tensor (float32, little-endian, C order)
Images that TorchServe itself cannot classify (grey, RGBA, palette, CMYK:
Normalize sees the wrong number of channels) are computed after
convert("RGB"), which is what we do."""

import io
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "archive_tool", "tests"))
sys.path.insert(0, os.path.join(REPO, "t", "python"))

IMAGENET = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406],
                         std=[0.229, 0.224, 0.225]),
])


# --- images -----------------------------------------------------------------

def photo(w, h, seed):
    """Smooth colour gradients, a few discs and some noise: resampling
    sees edges and texture, as in a photograph."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([
        128 + 100 * np.sin(x / max(w, 1) * 6.0 + seed),
        128 + 100 * np.cos(y / max(h, 1) * 5.0 - seed),
        128 + 90 * np.sin((x + y) / max(w + h, 1) * 9.0),
    ], axis=-1)
    for _ in range(6):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.05, 0.3) * max(w, h)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        img[inside] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png16_rgb(arr):
    """A 16-bit RGB PNG (PIL cannot write one)."""
    h, w, _ = arr.shape
    raw = b"".join(b"\0" + arr[i].astype(">u2").tobytes() for i in range(h))
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw, 9))
            + png_chunk(b"IEND", b""))


def make_images(folder):
    os.makedirs(folder, exist_ok=True)
    files = {}

    def save(name, img, **kw):
        path = os.path.join(folder, name)
        img.save(path, **kw)
        files[name] = path

    kitten = Image.fromarray(photo(333, 250, 1))
    save("kitten.jpg", kitten, quality=90)
    save("progressive.jpg", Image.fromarray(photo(320, 240, 2)),
         quality=85, progressive=True)
    save("cmyk.jpg", Image.fromarray(photo(300, 200, 3)).convert("CMYK"),
         quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6            # rotated: PIL.Image.open ignores it
    save("exif_rotated.jpg", Image.fromarray(photo(240, 320, 4)),
         quality=90, exif=exif.tobytes())
    save("wide.jpg", Image.fromarray(photo(4000, 10, 5)), quality=90)
    save("tiny.png", Image.fromarray(photo(1, 1, 6)))
    save("grey.png", Image.fromarray(photo(200, 150, 7)).convert("L"))
    save("rgba.png", Image.fromarray(photo(180, 240, 8)).convert("RGBA"))
    save("palette.png", Image.fromarray(photo(120, 90, 9)).quantize(64))
    grey16 = (photo(160, 120, 10)[:, :, 0].astype(np.uint16) * 257)
    save("grey16.png", Image.fromarray(grey16.astype(np.uint16), "I;16"))

    # small enough to sit base64-encoded in nginx.conf (batching tests)
    for i in range(8):
        save("small_%d.jpg" % i, Image.fromarray(photo(32, 24, 20 + i)),
             quality=80)

    rgb16 = photo(150, 100, 11).astype(np.uint16) * 257 + 3
    path = os.path.join(folder, "rgb16.png")
    with open(path, "wb") as f:
        f.write(png16_rgb(rgb16))
    files["rgb16.png"] = path
    return files


def make_hostile(folder):
    """What a hostile or broken client sends; never in "images"."""
    with open(os.path.join(folder, "kitten.jpg"), "rb") as f:
        jpeg = f.read()
    with open(os.path.join(folder, "grey.png"), "rb") as f:
        png = f.read()
    bad = {
        "bad_truncated.jpg": jpeg[:len(jpeg) // 2],
        "bad_truncated.png": png[:len(png) // 2],
        "bad_garbage.jpg": jpeg[:200] + bytes(range(256)) * 8,
    }
    with open(os.path.join(folder, "small_3.jpg"), "rb") as f:
        small = f.read()
    bad["bad_small.jpg"] = small[:len(small) // 2]     # fits nginx.conf
    # (bombs and bad CRCs: make_decode_fixtures.py's images/)
    gif = io.BytesIO()
    Image.fromarray(photo(16, 16, 30)).save(gif, format="GIF")
    bad["bad.gif"] = gif.getvalue()
    for name, data in bad.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


# --- models -----------------------------------------------------------------

class TinyClassifier(nn.Module):
    """ImageNet-shaped: 3x224x224 in, 1000 class scores out."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 5, stride=4)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2)
        self.fc = nn.Linear(32, 1000)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x) * 20.0


class Probe(nn.Module):
    """Answers its input: the preprocessed tensor, one row per image."""

    def forward(self, x):
        return x.flatten(1)


def scripted(model, path):
    torch.jit.script(model.eval()).save(path)
    return torch.jit.load(path).eval()


def labels_file(path):
    """TorchServe's densenet index_to_name.json shape: lists whose last
    item is the label; one plain string; two classes sharing a label."""
    mapping = {str(i): ["n%08d" % (1440764 + i), "class_%d" % i]
               for i in range(1000)}
    mapping["281"] = ["n02123045", "tabby"]
    mapping["282"] = "tiger_cat"
    mapping["7"] = ["n0", "class_8"]
    with open(path, "w") as f:
        json.dump(mapping, f)
    return {k: (v[-1] if isinstance(v, list) else v)
            for k, v in mapping.items()}


def write_config(path, handler):
    with open(path, "w") as f:
        f.write("handler:\n")
        for key, value in handler.items():
            f.write("  %s: %s\n" % (key, json.dumps(value)))


# --- TorchServe's answers, written directly -----------------------------------

def dumps(x):
    return json.dumps(x, indent=2)


def topk_answer(scores, mapping, k=5):
    probs, classes = torch.topk(F.softmax(scores, dim=1), k, dim=1)
    row = {}
    for c, p in zip(classes.tolist()[0], probs.tolist()[0]):
        row[mapping.get(str(c), str(c))] = p
    return dumps(row)


def segment_answer(out):
    best = torch.max(torch.softmax(out["out"], dim=1), dim=1)
    pairs = torch.stack([best.indices.type(best.values.dtype), best.values],
                        dim=3)
    return dumps(pairs.tolist()[0])


def detect_answer(row, mapping, threshold):
    keep = row["scores"] >= threshold
    found = []
    for label, box, score in zip(row["labels"][keep].tolist(),
                                 row["boxes"][keep].tolist(),
                                 row["scores"][keep].tolist()):
        found.append({mapping.get(str(label), str(label)): box,
                      "score": score})
    return dumps(found)


def rgb(path):
    return Image.open(path).convert("RGB")


def main():
    out, tool = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    work = os.path.join(out, "vision_src")
    os.makedirs(work, exist_ok=True)
    images = make_images(os.path.join(out, "vision"))
    make_hostile(os.path.join(out, "vision"))
    names = sorted(images)
    expected = {"images": names, "cls": {}, "probe": {}, "mnist": {},
                "seg": {}, "det": {}}

    def pack(*args):
        subprocess.run([tool, *args, "--export-path", out, "-f"], check=True)

    # image_classifier, TorchServe's defaults, a labels file
    torch.manual_seed(0)
    cls = scripted(TinyClassifier(), os.path.join(work, "cls.pt"))
    mapping = labels_file(os.path.join(work, "index_to_name.json"))
    pack("--model-name", "vision_cls", "--version", "1.0",
         "--serialized-file", os.path.join(work, "cls.pt"),
         "--handler", "image_classifier",
         "--extra-files", os.path.join(work, "index_to_name.json"))

    # the same handler answering its preprocessed input (postprocess: raw)
    probe = scripted(Probe(), os.path.join(work, "probe.pt"))
    write_config(os.path.join(work, "probe.yaml"), {"postprocess": "raw"})
    pack("--model-name", "vision_probe", "--version", "1.0",
         "--serialized-file", os.path.join(work, "probe.pt"),
         "--handler", "image_classifier",
         "--config-file", os.path.join(work, "probe.yaml"))

    # a pixel limit far below Pillow's, and a handler section we refuse
    write_config(os.path.join(work, "limit.yaml"), {"max_image_pixels": 1000})
    pack("--model-name", "vision_limit", "--version", "1.0",
         "--serialized-file", os.path.join(work, "probe.pt"),
         "--handler", "image_classifier",
         "--config-file", os.path.join(work, "limit.yaml"))
    write_config(os.path.join(work, "badcfg.yaml"), {"resize": -3})
    pack("--model-name", "vision_badcfg", "--version", "1.0",
         "--serialized-file", os.path.join(work, "probe.pt"),
         "--handler", "image_classifier",
         "--config-file", os.path.join(work, "badcfg.yaml"))

    with torch.inference_mode():
        for name in names:
            x = IMAGENET(rgb(images[name])).unsqueeze(0)
            expected["cls"][name] = topk_answer(cls(x), mapping)
            if name.startswith("small_"):
                continue
            tensor = probe(x)[0].numpy().astype("<f4")
            tensor.tofile(os.path.join(out, "vision", "probe_%s.f32" % name))
            expected["probe"][name] = "vision/probe_%s.f32" % name

    # the MNIST tutorial's handler as configuration: grey, ToTensor only,
    # argmax; the tutorial's net with the Python flow's weights
    from mnist_model import Net
    net = Net()
    net.load_state_dict(torch.load(os.path.join(out, "py_src", "mnist",
                                                "mnist_sd.pt")))
    mnist = scripted(net, os.path.join(work, "mnist.pt"))
    write_config(os.path.join(work, "mnist.yaml"),
                 {"channels": 1, "resize": None, "crop": None,
                  "normalize": False, "postprocess": "argmax"})
    pack("--model-name", "vision_mnist", "--version", "1.0",
         "--serialized-file", os.path.join(work, "mnist.pt"),
         "--handler", "image_classifier",
         "--config-file", os.path.join(work, "mnist.yaml"))
    # the same on the Python flow's linear net (bench/valgrind_serve.sh)
    from mnist_tiny_model import Net as TinyNet
    tiny = TinyNet()
    tiny.load_state_dict(torch.load(os.path.join(
        out, "py_src", "mnist_tiny", "mnist_tiny_sd.pt")))
    tiny = scripted(tiny, os.path.join(work, "mnist_tiny.pt"))
    pack("--model-name", "vision_mnist_tiny", "--version", "1.0",
         "--serialized-file", os.path.join(work, "mnist_tiny.pt"),
         "--handler", "image_classifier",
         "--config-file", os.path.join(work, "mnist.yaml"))
    with torch.inference_mode():
        digit = transforms.ToTensor()(Image.open(
            os.path.join(out, "mnist_digit.png"))).unsqueeze(0)
        expected["mnist"]["mnist_digit.png"] = dumps(
            mnist(digit).argmax(1).tolist()[0])
        expected["mnist_tiny"] = {"mnist_digit.png": dumps(
            tiny(digit).argmax(1).tolist()[0])}

    # image_segmenter: torchvision's LR-ASPP, random weights; a 64x64 crop
    # keeps its per-pixel answer small
    torch.manual_seed(1)
    seg = scripted(torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=4),
        os.path.join(work, "seg.pt"))
    write_config(os.path.join(work, "seg.yaml"), {"resize": 72, "crop": 64})
    pack("--model-name", "vision_seg", "--version", "1.0",
         "--serialized-file", os.path.join(work, "seg.pt"),
         "--handler", "image_segmenter",
         "--config-file", os.path.join(work, "seg.yaml"))
    seg_t = transforms.Compose([
        transforms.Resize(72), transforms.CenterCrop(64),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406],
                             std=[0.229, 0.224, 0.225])])

    # object_detector: torchvision's SSDlite, random weights, scripted
    # (forward takes a List[Tensor], answers (losses, detections)); its
    # initial weights score every box alike whatever the image, so the
    # classification head gets noise and the batch norms a small variance
    # (input-dependent boxes and labels); a threshold above TorchServe's
    # 0.5 drops some of its 10 detections
    torch.manual_seed(2)
    ssd = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=5,
        detections_per_img=10)
    noise = torch.Generator().manual_seed(3)
    for name, p in ssd.named_parameters():
        if "classification_head" in name:
            p.data.add_(torch.randn(p.shape, generator=noise) * 0.01)
    for name, b in ssd.named_buffers():
        if "running_var" in name:
            b.data.fill_(0.01)
    det = scripted(ssd, os.path.join(work, "det.pt"))
    det_labels = {"0": "background", "1": "cat", "2": "dog", "3": "car",
                  "4": "tree"}
    os.makedirs(os.path.join(work, "det"), exist_ok=True)
    with open(os.path.join(work, "det", "index_to_name.json"), "w") as f:
        json.dump({"object_type_names": list(det_labels.values())}, f)
    write_config(os.path.join(work, "det.yaml"), {"threshold": 0.999})
    pack("--model-name", "vision_det", "--version", "1.0",
         "--serialized-file", os.path.join(work, "det.pt"),
         "--handler", "object_detector",
         "--config-file", os.path.join(work, "det.yaml"),
         "--extra-files", os.path.join(work, "det", "index_to_name.json"))

    with torch.inference_mode():
        for name in ("kitten.jpg", "grey.png", "tiny.png"):
            img = rgb(images[name])
            expected["seg"][name] = segment_answer(
                seg(seg_t(img).unsqueeze(0)))
            _, dets = det([transforms.ToTensor()(img)])
            expected["det"][name] = detect_answer(dets[0], det_labels, 0.999)

    with open(os.path.join(out, "vision_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
