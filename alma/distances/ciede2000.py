"""CIEDE2000 colour difference (Sharma, Wu & Dalal 2005, kL = kC = kH = 1) and its image-level ℓ2 aggregate.

Equation numbers refer to Sharma et al., "The CIEDE2000 color-difference formula: implementation notes,
supplementary test data, and mathematical observations", Color Res. Appl. 30(1), 2005. Angles are in radians.
Every step is differentiable with finite gradients, including at a* = b* = 0 (hue of a neutral colour),
identical colours (ΔE00 = 0) and the hue wrap-around at 0/2π.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .colorspace import as_rgb, srgb_to_lab
from .registry import Distance, DistanceFn, register
from .safe import safe_sqrt

_25_POW_7 = 25.0 ** 7
_DEG = math.pi / 180


def _chroma_norm(a: Tensor, b: Tensor) -> Tensor:
    return safe_sqrt(a.square() + b.square())


def _chroma_weight(c: Tensor) -> Tensor:
    """√(C⁷ / (C⁷ + 25⁷)), written as C^3.5 / √(C⁷ + 25⁷) so that its gradient is 0 (not NaN) at C = 0."""
    return c.pow(3.5) / (c.pow(7) + _25_POW_7).sqrt()


def _hue(a: Tensor, b: Tensor) -> Tensor:
    """h = atan2(b, a) in [0, 2π) (eq. 4); 0 for a neutral colour (a = b = 0), with a finite gradient there."""
    neutral = a.square() + b.square() <= torch.finfo(a.dtype).tiny ** 0.5
    h = torch.atan2(b, torch.where(neutral, torch.ones_like(a), a))
    h = torch.where(neutral, torch.zeros_like(h), h)
    return torch.where(h < 0, h + 2 * math.pi, h)


def _within_half_turn(dh: Tensor, a1: Tensor, b1: Tensor, a2: Tensor, b2: Tensor) -> Tensor:
    """|h2 − h1| ≤ π, decided exactly near |h2 − h1| = π, where the formula jumps and rounded angles are unreliable.

    There, the sign of the cross product a1·b2 − b1·a2 = C1·C2·sin(h2 − h1) says on which side of π the difference
    lies (0 for exactly opposite hues, which count as within, as in eq. 10).
    """
    cross = a1 * b2 - b1 * a2
    near_half_turn = (dh.abs() - math.pi).abs() < 1e-3
    exact = (cross == 0) | ((cross > 0) == (dh > 0))
    return torch.where(near_half_turn, exact, dh.abs() <= math.pi)


def ciede2000_squared(lab1: Tensor, lab2: Tensor) -> Tensor:
    """ΔE00² between CIELAB colours [N, 3, ...] (channel dim 1: L*, a*, b*), shape [N, ...].

    The square is smooth where ΔE00 = 0, so sums of it differentiate cleanly; ΔE00 itself is `delta_e00`.
    """
    l1, a1, b1 = lab1.unbind(1)
    l2, a2, b2 = lab2.unbind(1)
    # eqs. 2-5: a' = (1 + G) a*, C', h'
    g = 0.5 * (1 - _chroma_weight((_chroma_norm(a1, b1) + _chroma_norm(a2, b2)) / 2))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = _chroma_norm(a1p, b1), _chroma_norm(a2p, b2)
    h1p, h2p = _hue(a1p, b1), _hue(a2p, b2)
    chromatic = c1p * c2p != 0
    # eqs. 8-10: ΔL', ΔC', Δh' (h2' − h1' brought into [−π, π]; 0 if either colour is neutral), ΔH'
    dh = h2p - h1p
    within = _within_half_turn(dh, a1p, b1, a2p, b2)
    dh = torch.where(within, dh, torch.where(dh > 0, dh - 2 * math.pi, dh + 2 * math.pi))
    dh = torch.where(chromatic, dh, torch.zeros_like(dh))
    dl, dc = l2 - l1, c2p - c1p
    dh_big = 2 * safe_sqrt(c1p * c2p) * torch.sin(dh / 2)
    # eqs. 12-14: means; h̄' is the mean hue on the circle, h1' + h2' if either colour is neutral
    l_bar, c_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = torch.where(within, h_sum / 2,
                        torch.where(h_sum < 2 * math.pi, h_sum / 2 + math.pi, h_sum / 2 - math.pi))
    h_bar = torch.where(chromatic, h_bar, h_sum)
    # eqs. 15-21: weighting functions and rotation term
    t = (1 - 0.17 * torch.cos(h_bar - 30 * _DEG) + 0.24 * torch.cos(2 * h_bar)
         + 0.32 * torch.cos(3 * h_bar + 6 * _DEG) - 0.20 * torch.cos(4 * h_bar - 63 * _DEG))
    d_theta = 30 * _DEG * torch.exp(-((h_bar - 275 * _DEG) / (25 * _DEG)).square())
    r_c = 2 * _chroma_weight(c_bar)
    l50 = (l_bar - 50).square()
    s_l = 1 + 0.015 * l50 / (20 + l50).sqrt()
    s_c = 1 + 0.045 * c_bar
    s_h = 1 + 0.015 * c_bar * t
    r_t = -torch.sin(2 * d_theta) * r_c
    # eq. 22, squared
    lightness, chroma, hue = dl / s_l, dc / s_c, dh_big / s_h
    return lightness.square() + chroma.square() + hue.square() + r_t * chroma * hue


def delta_e00(lab1: Tensor, lab2: Tensor) -> Tensor:
    """ΔE00 between CIELAB colours [N, 3, ...] (channel dim 1), shape [N, ...]."""
    return safe_sqrt(ciede2000_squared(lab1, lab2))


def ciede2000_map(x: Tensor, x_adv: Tensor) -> Tensor:
    """Per-pixel ΔE00 between two sRGB batches [B, C, H, W] in [0, 1] (C = 1 is replicated): [B, H, W]."""
    return delta_e00(srgb_to_lab(as_rgb(x)), srgb_to_lab(as_rgb(x_adv)))


def ciede2000_distance(x: Tensor, x_adv: Tensor) -> Tensor:
    """Image-level ΔE00: √(Σ_pixels ΔE00²) per sample, [B]."""
    return _build(x)(x_adv)


def image_distance_from_lab(lab_reference: Tensor, lab: Tensor) -> Tensor:
    """√(Σ_pixels ΔE00²) per sample from CIELAB batches [B, 3, H, W]: [B]."""
    return safe_sqrt(ciede2000_squared(lab_reference, lab).flatten(1).sum(1))


def _build(reference: Tensor) -> DistanceFn:
    lab_reference = srgb_to_lab(as_rgb(reference))
    return lambda x_adv: image_distance_from_lab(lab_reference, srgb_to_lab(as_rgb(x_adv)))


EPS = 1.0
"""Default ε, calibrated on MNIST, CIFAR-10 and ImageNet models: see docs/distances.md and bench/calibrate_eps.py."""

CIEDE2000 = register(Distance(
    name="ciede2000", label="CIEDE2000 ΔE00", build=_build, default_eps=EPS, pixel_map=ciede2000_map,
    description="ℓ2 norm over pixels of the CIEDE2000 colour difference (sRGB → D65 CIELAB, Sharma et al. 2005). "
                "Grayscale images are compared as R = G = B.",
))
