"""Isolation fixture, archive b: the same file names as iso_a,
another answer."""

from torch import nn

ARCHIVE = "b"


class Scale(nn.Module):
    def forward(self, x):
        return x * 3
