"""Square roots and norms with finite gradients at zero (the subgradient 0 is used there)."""
from __future__ import annotations

import torch
from torch import Tensor


def safe_sqrt(x: Tensor) -> Tensor:
    """√x for x > 0, 0 elsewhere; the gradient is 0 where x ≤ 0 instead of inf/NaN."""
    positive = x > 0
    return torch.where(positive, torch.where(positive, x, torch.ones_like(x)).sqrt(), torch.zeros_like(x))


def safe_norm(x: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    """‖x‖₂ along `dim`, with gradient 0 (not NaN) where the norm is 0."""
    return safe_sqrt(x.square().sum(dim, keepdim=keepdim))
