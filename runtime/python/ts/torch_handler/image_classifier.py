"""ImageClassifier: ImageNet-style preprocessing, then per image the top 5
classes as {label: probability}, most probable first."""

import torch
import torch.nn.functional as F
from torchvision import transforms

from ..handler_utils.timer import timed
from ..utils.util import map_class_to_label
from .vision_handler import VisionHandler

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class ImageClassifier(VisionHandler):
    topk = 5
    image_processing = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
    ])

    def set_max_result_classes(self, topk):
        self.topk = topk

    def get_max_result_classes(self):
        return self.topk

    @timed
    def postprocess(self, data):
        probs, classes = torch.topk(F.softmax(data, dim=1), self.topk, dim=1)
        return map_class_to_label(probs.tolist(), self.mapping,
                                  classes.tolist())
