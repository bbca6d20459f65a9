"""A linear MNIST classifier: 1x28x28 images in, log-probabilities of the
10 digits out. The MNIST tutorial's handler serves it unchanged; it exists
for bench/valgrind_serve.sh, where the tutorial's convolutions cost ~0.6 s
a request under memcheck and this one a few milliseconds, so that 10,000
requests of the image and Python kinds fit in minutes."""

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)
