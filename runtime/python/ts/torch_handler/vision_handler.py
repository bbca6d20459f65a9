"""VisionHandler: turns each request's image into a tensor with the
subclass's image_processing and stacks them into one [N, C, H, W] batch."""

import base64
import io

import torch
from PIL import Image

from ..handler_utils.timer import timed
from .base_handler import BaseHandler


class VisionHandler(BaseHandler):
    image_processing = None

    def __init__(self):
        super().__init__()
        self.ig = None

    def initialize(self, context):
        super().initialize(context)
        # PIL's limit is process-wide: one archive that lifts it lifts it
        # for every archive this worker process serves
        if not context.system_properties.get("limit_max_image_pixels"):
            Image.MAX_IMAGE_PIXELS = None
        self.initialized = True

    @timed
    def preprocess(self, data):
        """Per request "data" or "body": text is base64 of the image bytes;
        bytes are an image file, opened as is (no RGB conversion) and
        transformed; anything else (a nested list) becomes a float tensor
        untransformed."""
        images = []
        for row in data:
            image = row.get("data") or row.get("body")
            if isinstance(image, str):
                image = base64.b64decode(image)
            if isinstance(image, (bytes, bytearray)):
                image = self.image_processing(
                    Image.open(io.BytesIO(image)))
            else:
                image = torch.FloatTensor(image)
            images.append(image)
        return torch.stack(images).to(self.device)

    def get_insights(self, tensor_data, _, target=0):
        """Integrated Gradients over 15 steps (Captum's, in our package:
        ts.utils.integrated_gradients), as nested lists."""
        if self.ig is None:
            from ..utils.integrated_gradients import IntegratedGradients
            self.ig = IntegratedGradients(self.model)
        return self.ig.attribute(tensor_data, target=target,
                                 n_steps=15).tolist()
