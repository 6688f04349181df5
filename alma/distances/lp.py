"""ℓp distances between a batch and its references."""
from __future__ import annotations

from torch import Tensor

from .registry import Distance, DistanceFn, register


def lp_distances(x: Tensor, x_adv: Tensor, p: float) -> Tensor:
    """‖x_adv − x‖_p per sample (p = 0 counts the changed pixel values)."""
    return (x_adv - x).flatten(1).norm(p=p, dim=1)


def _builder(p: float):
    def build(reference: Tensor) -> DistanceFn:
        return lambda x_adv: lp_distances(reference, x_adv, p)

    return build


def abs_diff_map(x: Tensor, x_adv: Tensor) -> Tensor:
    """|δ| per pixel, summed over channels: [B, H, W]."""
    return (x_adv - x).abs().sum(1)


L1 = register(Distance(
    name="l1", label="ℓ1", build=_builder(1), default_eps=0.5, pixel_map=abs_diff_map,
    description="Sum of absolute pixel changes (values in [0, 1]); favours sparse perturbations.",
))
L2 = register(Distance(
    name="l2", label="ℓ2", build=_builder(2), default_eps=0.1, pixel_map=abs_diff_map,
    description="Euclidean norm of the perturbation (values in [0, 1]).",
))
