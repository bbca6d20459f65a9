"""ObjectDetector: the model returns per image {boxes, labels, scores};
the answer keeps the detections scoring at least 0.5, each as
{"<label>": [x1, y1, x2, y2], "score": s}."""

from torchvision import transforms

from ..utils.util import map_class_to_label
from .vision_handler import VisionHandler


class ObjectDetector(VisionHandler):
    image_processing = transforms.Compose([transforms.ToTensor()])
    threshold = 0.5

    def postprocess(self, data):
        return [self._detections(row) for row in data]

    def _detections(self, row):
        keep = row["scores"] >= self.threshold
        boxes = row["boxes"][keep].tolist()
        labels = row["labels"][keep].tolist()
        scores = row["scores"][keep].tolist()
        found = []
        for label, box, score in zip(labels, boxes, scores):
            detection = map_class_to_label([[box]], self.mapping,
                                           [[label]])[0]
            detection["score"] = score
            found.append(detection)
        return found
