"""Isolation fixture: imports model.py by its plain name, as the other
isolation archive does; each must get its own."""

import torch
from model import ARCHIVE
from ts.torch_handler.base_handler import BaseHandler


class IsolationHandler(BaseHandler):
    def preprocess(self, data):
        return torch.tensor([row["body"] for row in data])

    def postprocess(self, data):
        return [{"archive": ARCHIVE, "out": row} for row in data.tolist()]
