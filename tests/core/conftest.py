"""Models for the attack-core tests: the paper's SmallCNN (from the offline checkpoint) and small linear models."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from alma.models.smallcnn import SmallCNN


def frozen(model: nn.Module) -> nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@pytest.fixture(scope="session")
def smallcnn(shared_data: Path) -> nn.Module:
    """The paper's regular MNIST SmallCNN."""
    model = SmallCNN()
    path = shared_data / "mnist_models" / "smallcnn" / "mnist_regular.pth"
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return frozen(model)


@pytest.fixture(scope="session")
def mnist_batch(mnist_test: tuple[Tensor, Tensor], smallcnn: nn.Module) -> tuple[Tensor, Tensor]:
    """The first 64 MNIST test images that the SmallCNN classifies correctly."""
    x, y = mnist_test[0][:80], mnist_test[1][:80]
    with torch.no_grad():
        correct = smallcnn(x).argmax(1) == y
    return x[correct][:64], y[correct][:64]


class Linear(nn.Module):
    """f(x) = W·flatten(x) + b."""

    def __init__(self, weight: Tensor, bias: Tensor) -> None:
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight, requires_grad=False), nn.Parameter(bias, requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1) @ self.weight.T + self.bias
