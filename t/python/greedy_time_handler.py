"""Handler of the greedy_time model: the request body is JSON,
{"feature": [[...], ...], "start": 1}; the answer is the decoded classes.
Like the tutorial's handler it reads only the first request of a batch."""

import json

import numpy as np
import torch
from scipy.special import softmax
from ts.torch_handler.base_handler import BaseHandler


class GreedyTimeHandler(BaseHandler):
    def preprocess(self, data):
        body = data[0].get("body")
        if isinstance(body, (bytes, bytearray)):  # sent without a JSON type
            body = json.loads(body)
        # per-step probabilities: the decoder's argmax does not change
        feature = softmax(np.asarray(body["feature"], dtype=np.float32),
                          axis=1)
        return torch.from_numpy(feature), int(body.get("start", 0))

    def inference(self, data, *args, **kwargs):
        feature, start = data
        with torch.inference_mode():
            return self.model(feature.to(self.device), start)

    def postprocess(self, data):
        return [data.tolist()]

    def handle(self, data, context):
        self.context = context
        return self.postprocess(self.inference(self.preprocess(data)))
