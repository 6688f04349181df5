"""The reference library's CIEDE2000 and LPIPS variants equal adv_lib's own functions on the same inputs."""
from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch
import torchvision
from adv_lib.distances import lpips as adv_lib_lpips
from adv_lib.distances.color_difference import ciede2000_loss
from adv_lib.utils.color_conversions import rgb_to_cielab

from alma.distances import get
from alma.distances.adv_lib_variants import adv_lib_lab


def pair(shape: tuple[int, ...], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g)
    y = (x + 0.05 * torch.randn(shape, generator=g)).clamp(0, 1)
    y[0] = x[0]  # one unchanged image
    return x, y


@pytest.mark.parametrize("shape", [(4, 3, 32, 32), (2, 3, 48, 40)])
def test_ciede2000_equals_adv_lib(shape: tuple[int, ...]) -> None:
    x, y = pair(shape, seed=shape[-1])
    x[1, :, :4] = 0  # black and white pixels
    x[1, :, 4:8] = 1
    expected = ciede2000_loss(x, y, ε=1e-12)  # as adv_lib's ALMA calls it
    torch.testing.assert_close(get("ciede2000_adv_lib").build(x)(y), expected, atol=1e-5, rtol=1e-6)
    torch.testing.assert_close(adv_lib_lab(x), rgb_to_cielab(x), atol=5e-5, rtol=0)  # float32 rounding
    white = adv_lib_lab(torch.ones(1, 3, 1, 1)).flatten()
    assert 8.5 < white[0] < 9.5  # the mis-scaled conversion the paper's numbers used
    ratio = get("ciede2000_adv_lib").build(x)(y)[1:] / get("ciede2000").build(x)(y)[1:]
    assert ((0.1 < ratio) & (ratio < 0.4)).all()


def test_lpips_equals_adv_lib(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    features = torch.load(shared_data / "lpips" / "backbones" / "alexnet_features_imagenet1k_v1.pth",
                          map_location="cpu", weights_only=True)

    def alexnet(**kwargs: object) -> torch.nn.Module:  # adv_lib asks torchvision for pretrained=True
        model = torchvision.models.alexnet(weights=None)
        model.load_state_dict(features, strict=False)
        return model

    monkeypatch.setattr(adv_lib_lpips, "models", types.SimpleNamespace(alexnet=alexnet))
    x, y = pair((3, 3, 40, 36), seed=0)
    expected = adv_lib_lpips.LPIPS(target=x)(y)  # as adv_lib's ALMA builds it: no linear weights, square root
    torch.testing.assert_close(get("lpips_adv_lib").build(x)(y), expected, atol=1e-5, rtol=0)
    assert get("lpips_adv_lib").pixel_map(x, y).shape == (3, 40, 36)
