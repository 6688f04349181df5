"""sRGB → CIE XYZ (D65) → CIELAB, differentiable, on batches [B, 3, H, W] with values in [0, 1].

sRGB decoding follows IEC 61966-2-1; the linear-RGB → XYZ matrix (ITU-R BT.709 primaries, D65) and the D65 white
XYZ = (0.95047, 1, 1.08883) are those of scikit-image's `rgb2lab` (and OpenCV), so white maps to L* = 100 (a*, b*
within 0.005 of 0). CIELAB follows CIE 15:2004 with its exact constants δ = 6/29 (f(t) = t^(1/3) above δ³ and
t/(3δ²) + 4/29 below, continuous at δ³); scikit-image rounds them to 0.008856 and 7.787, a difference below 2e-4
in L*, a*, b*.
"""
from __future__ import annotations

from functools import cache

import torch
from torch import Tensor

Triple = tuple[float, float, float]
Matrix = tuple[Triple, Triple, Triple]

SRGB_TO_XYZ: Matrix = ((0.412453, 0.357580, 0.180423),
                       (0.212671, 0.715160, 0.072169),
                       (0.019334, 0.119193, 0.950227))
D65_WHITE: Triple = (0.95047, 1.0, 1.08883)
"""XYZ of the D65 white (2° observer), Y = 1."""

_DELTA = 6 / 29


def as_rgb(x: Tensor) -> Tensor:
    """Grayscale batches [B, 1, H, W] replicated to 3 channels (R = G = B); RGB batches unchanged."""
    if x.shape[1] == 1:
        return x.expand(-1, 3, *x.shape[2:])
    if x.shape[1] != 3:
        raise ValueError(f"expected 1 (grayscale) or 3 (RGB) channels, got {x.shape[1]}")
    return x


def srgb_to_linear(c: Tensor) -> Tensor:
    """Inverse sRGB companding: c/12.92 up to 0.04045, ((c + 0.055)/1.055)^2.4 above."""
    high = ((c.clamp(min=0.04045) + 0.055) / 1.055).pow(2.4)
    return torch.where(c > 0.04045, high, c / 12.92)


def _lab_f(t: Tensor) -> Tensor:
    cube_root = t.clamp(min=_DELTA ** 3).pow(1 / 3)  # clamped: no inf gradient at t = 0
    return torch.where(t > _DELTA ** 3, cube_root, t / (3 * _DELTA ** 2) + 4 / 29)


@cache
def _matrix(matrix: Matrix, white: Triple, device: torch.device, dtype: torch.dtype) -> Tensor:
    """`matrix` with row i divided by the white's i-th coordinate: linear RGB → (X/Xn, Y/Yn, Z/Zn)."""
    m = torch.tensor(matrix, dtype=torch.float64)
    return (m / torch.tensor(white, dtype=torch.float64)[:, None]).to(device=device, dtype=dtype)


def srgb_to_lab(rgb: Tensor, matrix: Matrix = SRGB_TO_XYZ, white: Triple = D65_WHITE) -> Tensor:
    """CIELAB [B, 3, ...] of sRGB values [B, 3, ...] in [0, 1].

    L* = 116 f(Y/Yn) − 16, a* = 500 (f(X/Xn) − f(Y/Yn)), b* = 200 (f(Y/Yn) − f(Z/Zn)), with XYZ = `matrix` ·
    linear(rgb) on the scale Y(white) = 1, so `white` must have Yn = 1 for a correctly scaled L*.
    """
    m = _matrix(matrix, white, rgb.device, rgb.dtype)
    f = _lab_f(torch.einsum("mc,bc...->bm...", m, srgb_to_linear(rgb)))
    fx, fy, fz = f.unbind(1)
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), dim=1)
