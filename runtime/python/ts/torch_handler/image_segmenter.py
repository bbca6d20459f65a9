"""ImageSegmenter: the model returns {"out": [N, K, H, W]}; per image and
pixel the answer is [most probable class (as a float), its probability]."""

import torch
from torchvision import transforms

from .image_classifier import IMAGENET_MEAN, IMAGENET_STD
from .vision_handler import VisionHandler


class ImageSegmenter(VisionHandler):
    image_processing = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
    ])

    def postprocess(self, data):
        # one class per pixel, not K probabilities: the full answer would
        # be tens of megabytes per image
        best = torch.max(torch.softmax(data["out"], dim=1), dim=1)
        pairs = torch.stack(
            [best.indices.type(best.values.dtype), best.values], dim=3)
        return pairs.tolist()
