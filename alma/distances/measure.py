"""All the distances between clean and adversarial batches, per sample, for results tables."""
from __future__ import annotations

import torch
from torch import Tensor

from ..weights import WeightsError
from .ciede2000 import ciede2000_distance
from .lpips import lpips_distance
from .ssim import ssim_distance

L0_THRESHOLD = 0.5 / 255
"""A pixel counts in ℓ0 when some channel changed by more than half an 8-bit level (it survives 8-bit rounding)."""


@torch.no_grad()
def measure(x: Tensor, x_adv: Tensor) -> dict[str, Tensor]:
    """Per-sample distances [B] between x and x_adv ([B, C, H, W] in [0, 1]); every entry is 0 for x_adv = x.

    "l0": pixels (H×W positions) changed by more than L0_THRESHOLD in some channel; "l1", "l2", "linf": norms of
    x_adv − x over all values; "ciede2000": √(Σ ΔE00²); "lpips": LPIPS v0.1 AlexNet, absent when its weights are
    unavailable; "ssim": 1 − SSIM (the distance, not the similarity).
    """
    delta = (x_adv - x).flatten(2)
    flat = delta.flatten(1)
    out = {
        "l0": (delta.abs() > L0_THRESHOLD).any(1).sum(1).to(x.dtype),
        "l1": flat.norm(p=1, dim=1),
        "l2": flat.norm(p=2, dim=1),
        "linf": flat.abs().amax(1),
        "ciede2000": ciede2000_distance(x, x_adv),
    }
    try:
        out["lpips"] = lpips_distance(x, x_adv)
    except WeightsError:
        pass
    out["ssim"] = ssim_distance(x, x_adv)
    return out
