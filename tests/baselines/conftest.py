"""The bundled SmallCNN and a few drawn digits: everything offline, small and fast."""
from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from alma.models import load_model
from alma.samples import draw_digit


@pytest.fixture(scope="session")
def model() -> nn.Module:
    """The bundled MNIST SmallCNN (`mnist-smallcnn`), 10 classes."""
    return load_model("mnist-smallcnn")


@pytest.fixture(scope="session")
def digits(model: nn.Module) -> tuple[Tensor, Tensor]:
    """Three drawn digits [3, 1, 28, 28] and the model's predictions for them (which are the digits drawn)."""
    x = torch.stack([draw_digit(d)[:1] for d in (0, 1, 3)])
    with torch.no_grad():
        y = model(x).argmax(1)
    assert y.tolist() == [0, 1, 3]
    return x, y


def hooks(model: nn.Module) -> int:
    """Hooks of every kind left on the model and its submodules."""
    return sum(len(getattr(m, name)) for m in model.modules() for name in
               ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"))
