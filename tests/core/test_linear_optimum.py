"""On linear models the minimal ℓ2 adversarial perturbation is known in closed form: ALMA must reach it."""
from __future__ import annotations

import pytest
import torch

import alma

from .conftest import Linear

TOLERANCE = 1e-4  # the constraint's logit margin κ


def optimal_l2(model: Linear, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """min_j (z_y − z_j + κ)/‖w_y − w_j‖ per sample, and whether its minimiser lies inside the box [0, 1]."""
    w, logits = model.weight, model(x)
    w_diff = w[y][:, None, :] - w[None, :, :]  # [B, C, d]: w_y − w_j
    margins = logits.gather(1, y[:, None]) - logits + TOLERANCE
    dist = margins / w_diff.norm(dim=2)
    dist.scatter_(1, y[:, None], float("inf"))
    best, j = dist.min(1)
    direction = w_diff[torch.arange(len(x)), j]
    minimiser = x.flatten(1) - best[:, None] * direction / direction.norm(dim=1, keepdim=True)
    return best, ((minimiser > 0) & (minimiser < 1)).all(1)


@pytest.mark.parametrize("num_classes", [10, 2])
def test_alma_reaches_the_closed_form_optimum(num_classes: int) -> None:
    gen = torch.Generator().manual_seed(num_classes)
    model = Linear(torch.randn(num_classes, 48, generator=gen, dtype=torch.float64),
                   torch.randn(num_classes, generator=gen, dtype=torch.float64))
    x = 0.35 + 0.3 * torch.rand(256, 3, 4, 4, generator=gen, dtype=torch.float64)
    y = model(x).argmax(1)
    optimum, inside = optimal_l2(model, x, y)
    # Samples whose minimiser lies inside the box, with optima within a factor 4 of each other, so that one ε
    # chosen by the paper's rule (a tenth of the typical final distance) suits them all.
    typical = optimum[inside].median()
    keep = (inside & (optimum > typical / 2) & (optimum < 2 * typical)).nonzero().squeeze(1)[:64]
    x, y, optimum = x[keep], y[keep], optimum[keep]
    assert len(x) == 64

    result = alma.attack(model, x, y, distance="l2", num_steps=1000, init_lr_distance=0.1 * typical.item())

    adv_logits = model(result.adv_inputs)
    assert (adv_logits.argmax(1) != y).all()
    achieved = (result.adv_inputs - x).flatten(1).norm(dim=1)
    assert (achieved >= optimum * (1 - 1e-6)).all()  # nothing beats the optimum: the check itself is sound
    assert (achieved <= 1.05 * optimum).all(), (achieved / optimum).max()
