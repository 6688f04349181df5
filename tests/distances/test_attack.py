"""ALMA succeeds with every registered distance on the paper's MNIST SmallCNN and on a CIFAR-10 ResNet-20."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

import alma
from alma.distances import available, get
from alma.models import load_model

SLOW = {"lpips_vgg": (2, 30)}
"""(images, steps) for distances too slow on CPU for the default (4 images, 100 steps)."""


def first_correct(model: nn.Module, x: Tensor, y: Tensor, n: int) -> tuple[Tensor, Tensor]:
    keep = (model(x[:4 * n]).argmax(1) == y[:4 * n]).nonzero()[:n, 0]
    return x[keep], y[keep]


@pytest.fixture(scope="module")
def cases(shared_data: Path, mnist_test: tuple, cifar10_test: tuple) -> dict[str, tuple[nn.Module, Tensor, Tensor]]:
    out = {}
    with pytest.MonkeyPatch.context() as patch:  # module scope: the per-test ALMA_WEIGHTS_DIR is not set yet
        patch.setenv("ALMA_WEIGHTS_DIR", str(shared_data))
        for name, data in (("mnist-smallcnn-paper", mnist_test), ("cifar10-resnet20", cifar10_test)):
            model = load_model(name)
            out[name] = (model, *first_correct(model, *data, n=4))
    return out


@pytest.mark.parametrize("model_name", ["mnist-smallcnn-paper", "cifar10-resnet20"])
@pytest.mark.parametrize("distance", available())
def test_alma_succeeds(cases: dict, model_name: str, distance: str) -> None:
    model, x, y = cases[model_name]
    images, steps = SLOW.get(distance, (4, 100))
    x, y = x[:images], y[:images]
    result = alma.attack(model, x, y, distance=distance, num_steps=steps, record=False, seed=0)
    assert result.success.all()
    assert (model(result.adv_inputs).argmax(1) != y).all()
    assert torch.isfinite(result.distances).all() and (result.distances > 0).all()
    torch.testing.assert_close(get(distance).build(x)(result.adv_inputs), result.distances, rtol=1e-4, atol=1e-7)
