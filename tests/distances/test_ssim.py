"""1 − SSIM against scikit-image, including the rule for images smaller than the 11×11 window."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from alma.distances import get
from alma.distances.ssim import crop_radius, ssim_distance, ssim_map


def skimage_ssim(x: torch.Tensor, y: torch.Tensor, win_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(1 − SSIM per image, 1 − S averaged over channels [B, H, W]) from scikit-image, channels first."""
    values, maps = [], []
    for a, b in zip(x.double().numpy(), y.double().numpy()):
        value, full = structural_similarity(a, b, channel_axis=0, gaussian_weights=True, sigma=1.5,
                                            use_sample_covariance=False, data_range=1, win_size=win_size, full=True)
        values.append(1 - value)
        maps.append(1 - full.mean(0))
    return np.array(values), np.stack(maps)


def pair(shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=dtype)
    return x, (x + 0.1 * torch.randn(shape, generator=g, dtype=dtype)).clamp(0, 1)


@pytest.mark.parametrize("shape", [(3, 3, 32, 32), (2, 1, 28, 28), (2, 3, 40, 23), (1, 3, 11, 11)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matches_skimage(shape: tuple[int, ...], dtype: torch.dtype) -> None:
    x, y = pair(shape, seed=sum(shape), dtype=dtype)
    values, maps = skimage_ssim(x, y)
    np.testing.assert_allclose(ssim_distance(x, y).double().numpy(), values, atol=1e-4 if dtype == torch.float32
                               else 1e-10)
    np.testing.assert_allclose(ssim_map(x, y).double().numpy(), maps, atol=1e-4)


def test_real_image_matches_skimage(cifar10_test: tuple[torch.Tensor, torch.Tensor]) -> None:
    x = cifar10_test[0][:4].double()
    y = (x + 0.03 * torch.sign(torch.randn(x.shape, generator=torch.Generator().manual_seed(0)))).clamp(0, 1)
    np.testing.assert_allclose(ssim_distance(x, y).numpy(), skimage_ssim(x, y)[0], atol=1e-10)


@pytest.mark.parametrize("side, window", [(10, 9), (9, 9), (8, 7), (5, 5), (4, 3), (2, 1), (1, 1)])
def test_small_images_use_the_largest_odd_window(side: int, window: int) -> None:
    assert 2 * crop_radius(side, side + 3) + 1 == window
    x, y = pair((2, 3, side, side + 3), seed=side)
    values, maps = skimage_ssim(x, y, win_size=window)
    np.testing.assert_allclose(ssim_distance(x, y).numpy(), values, atol=1e-10)
    np.testing.assert_allclose(ssim_map(x, y).numpy(), maps, atol=1e-10)


def test_identical_is_zero_and_batched_equals_per_image() -> None:
    x, y = pair((4, 3, 16, 16), seed=1)
    assert ssim_distance(x, x).abs().max() < 1e-12
    distance = get("ssim").build(x)
    torch.testing.assert_close(distance(y), torch.cat([ssim_distance(x[i:i + 1], y[i:i + 1]) for i in range(4)]),
                               rtol=1e-12, atol=1e-14)


def test_gradients() -> None:
    x, y = pair((1, 2, 11, 12), seed=2)
    y = y.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: ssim_distance(x, t), (y,))
    x0 = torch.zeros(1, 1, 12, 12, requires_grad=True)  # flat black: zero variances
    grad, = torch.autograd.grad(ssim_distance(torch.zeros(1, 1, 12, 12), x0).sum(), x0)
    assert torch.isfinite(grad).all()
