"""A model without parameters: greedy decoding over time. For a
[time, classes] feature it takes the best class at each step from `start`
on and collapses runs of the same class, as a greedy CTC decoder does
(without a blank class)."""

import torch
from torch import nn


class GreedyTime(nn.Module):
    def forward(self, feature: torch.Tensor, start: int) -> torch.Tensor:
        best = feature[start:].argmax(dim=1)
        if best.numel() == 0:
            return best
        changed = torch.ones_like(best, dtype=torch.bool)
        changed[1:] = best[1:] != best[:-1]
        return best[changed]
