"""SSIM (Wang et al. 2004) with an 11-tap Gaussian window (σ = 1.5), as a distance 1 − SSIM.

For each channel, with Gaussian-weighted local statistics μx, μy, σx², σy², σxy (population covariances),
    S = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),   C1 = (0.01·1)², C2 = (0.03·1)²,
and SSIM is the mean of S over the pixels at least p = (w − 1)/2 from the border (w the window size), then over
channels. This is `skimage.metrics.structural_similarity(x, y, channel_axis=0, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1)`.

Images smaller than the window: w = 11 when min(H, W) ≥ 11, else the largest odd number ≤ min(H, W); the Gaussian
stays the 11-tap one, applied with symmetric (half-sample) boundary extension as scikit-image does, so the value is
`structural_similarity(..., win_size=w)` with the same flags.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

from .registry import Distance, DistanceFn, register

SIGMA = 1.5
RADIUS = 5
"""Half-width of the Gaussian: int(3.5 σ + 0.5), scikit-image's truncation, giving 11 taps."""
C1 = 0.01 ** 2
C2 = 0.03 ** 2


def crop_radius(height: int, width: int) -> int:
    """p = (w − 1)/2 for the window size w of an H×W image (w = 11, or the largest odd number ≤ min(H, W))."""
    side = min(height, width)
    window = 2 * RADIUS + 1 if side >= 2 * RADIUS + 1 else side - 1 + side % 2
    return (window - 1) // 2


@lru_cache(maxsize=64)
def _blur_matrix(n: int, crop: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """[n − 2·crop, n]: row i is the Gaussian centred on pixel crop + i, folded back into [0, n) by symmetric
    (half-sample) extension of the signal (… b a | a b … y z | z y …), as scipy's mode="reflect"."""
    taps = torch.arange(-RADIUS, RADIUS + 1, dtype=torch.float64)
    gaussian = torch.exp(-0.5 * (taps / SIGMA) ** 2)
    gaussian /= gaussian.sum()
    centres = torch.arange(crop, n - crop, dtype=torch.long)
    index = (centres[:, None] + taps.long()[None]) % (2 * n)
    index = torch.where(index >= n, 2 * n - 1 - index, index)
    matrix = torch.zeros(len(centres), n, dtype=torch.float64).scatter_add_(1, index, gaussian.expand_as(index))
    return matrix.to(device=device, dtype=dtype)


def _blur(x: Tensor, crop: int) -> Tensor:
    """Gaussian filter of each map of x [..., H, W], keeping the pixels ≥ `crop` from the border (separable; as
    banded matrix products, which beat a convolution with an 11-tap kernel on CPU and are fast on GPU)."""
    h, w = x.shape[-2:]
    return _blur_matrix(h, crop, x.device, x.dtype) @ x @ _blur_matrix(w, crop, x.device, x.dtype).T


def _stats(x: Tensor, crop: int) -> tuple[Tensor, Tensor]:
    """(μx, E[x²]) under the window, for a reference that stays fixed during an attack."""
    return _blur(torch.cat((x, x.square()), dim=1), crop).chunk(2, dim=1)


def _ssim_map(mu_x: Tensor, xx: Tensor, x: Tensor, y: Tensor, crop: int) -> Tensor:
    """S at the pixels ≥ `crop` from the border: [B, C, H − 2·crop, W − 2·crop]."""
    mu_y, yy, xy = _blur(torch.cat((y, y.square(), x * y), dim=1), crop).chunk(3, dim=1)
    mu_xy, mu_x2, mu_y2 = mu_x * mu_y, mu_x.square(), mu_y.square()
    numerator = (2 * mu_xy + C1) * (2 * (xy - mu_xy) + C2)
    return numerator / ((mu_x2 + mu_y2 + C1) * ((xx - mu_x2) + (yy - mu_y2) + C2))


def _build(reference: Tensor) -> DistanceFn:
    crop = crop_radius(*reference.shape[-2:])
    mu_x, xx = _stats(reference, crop)
    return lambda x_adv: 1 - _ssim_map(mu_x, xx, reference, x_adv, crop).flatten(1).mean(1)


def ssim_distance(x: Tensor, x_adv: Tensor) -> Tensor:
    """1 − SSIM(x, x_adv) per sample, [B]; inputs [B, C, H, W] in [0, 1]."""
    return _build(x)(x_adv)


def ssim_map(x: Tensor, x_adv: Tensor) -> Tensor:
    """1 − S per pixel (all H×W pixels, scikit-image's full map), averaged over channels: [B, H, W]."""
    mu_x, xx = _stats(x, 0)
    return 1 - _ssim_map(mu_x, xx, x, x_adv, 0).mean(1)


SSIM = register(Distance(
    name="ssim", label="SSIM (1 − SSIM)", build=_build, default_eps=1e-4, pixel_map=ssim_map,
    description="1 − SSIM with an 11×11 Gaussian window (σ = 1.5), averaged over channels; equals scikit-image's "
                "structural_similarity with gaussian_weights=True. Images smaller than 11 px use the largest odd "
                "window that fits.",
))
