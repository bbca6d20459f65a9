"""Isolation fixture, archive a: the same file names as iso_b,
another answer."""

from torch import nn

ARCHIVE = "a"


class Scale(nn.Module):
    def forward(self, x):
        return x * 2
