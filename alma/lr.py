"""Learning rates: the initial per-sample search (paper Section 3.2.3) and the exploration/exploitation decay."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .distances import DistanceFn

MAX_DOUBLINGS = 30
BISECTION_STEPS = 20


@dataclass
class LrSearch:
    """Outcome of `search_initial_lr`: η⁽⁰⁾ per sample, which samples fell back to `lr_init`, and its cost."""

    lr: Tensor
    failed: Tensor
    distance_evals: int


def search_initial_lr(inputs: Tensor, direction: Tensor, distance_fn: DistanceFn, target: float,
                      fallback: float, max_doublings: int = MAX_DOUBLINGS) -> LrSearch:
    """η⁽⁰⁾ per sample such that D(P_[0,1][x − η⁽⁰⁾ g], x) = ε (`target`).

    A line search doubles η from 1 until D exceeds ε, then 20 bisection steps refine it, as in the reference code.
    The doubling is capped at `max_doublings`: a sample whose distance never exceeds ε (the box blocks the direction,
    e.g. an all-black image with a positive gradient) gets η⁽⁰⁾ = `fallback` and is flagged in `failed`.
    """
    view = (-1,) + (1,) * (inputs.ndim - 1)

    def exceeds(lr: Tensor) -> Tensor:
        return distance_fn((inputs - lr.view(view) * direction).clamp_(0, 1)) > target

    lr = torch.ones(len(inputs), device=inputs.device, dtype=inputs.dtype)
    lower = torch.zeros_like(lr)
    found = exceeds(lr)
    evals = 1
    for _ in range(max_doublings):
        if found.all():
            break
        lower = torch.where(found, lower, lr)
        lr = torch.where(found, lr, lr * 2)
        found = exceeds(lr)
        evals += 1
    for _ in range(BISECTION_STEPS):
        middle = (lower + lr) / 2
        larger = exceeds(middle)
        lower, lr = torch.where(larger, lower, middle), torch.where(larger, middle, lr)
    evals += BISECTION_STEPS
    lr = torch.where(found, (lr + lower) / 2, torch.full_like(lr, fallback))
    return LrSearch(lr=lr, failed=~found, distance_evals=evals)


def decayed_lr(lr: Tensor, step: int, first_adv_step: Tensor, num_steps: int, reduction: float) -> Tensor:
    """η⁽ⁱ⁾ = η⁽⁰⁾ · reduction^((i − s) / (N − s)) after the first adversarial step s, η⁽⁰⁾ before it.

    `first_adv_step` holds N + 1 for samples not yet adversarial, which makes the exponent 0.
    """
    exponent = (step - first_adv_step).clamp_(min=0) / (num_steps - first_adv_step)
    return lr * reduction ** exponent
