"""Per-channel normalisation as a module, so every registry model takes inputs in [0, 1]."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class Normalize(nn.Module):
    """(x − mean) / std per channel, for NCHW inputs."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


def normalized(model: nn.Module, mean: Sequence[float], std: Sequence[float]) -> nn.Sequential:
    """`model` preceded by `Normalize(mean, std)`."""
    return nn.Sequential(Normalize(mean, std), model)
