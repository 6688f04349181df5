"""Learning rates: the initial per-sample search (paper Section 3.2.3) and the exploration/exploitation decay.

`decayed_lr` is the schedule as a formula of the step; `DecaySchedule` is the same schedule kept incrementally by
the attack's loop (no step index needed on the device, a few kernels per step, values bit-identical to `decayed_lr`).
"""
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


class DecaySchedule:
    """η⁽ⁱ⁾ of `decayed_lr` for the loop, from per-sample counts k = i − s (steps since the first adversarial step s;
    0 before it) and j = N − s (N − i before it): η⁽ⁱ⁾ = η⁽⁰⁾·reduction^(k/j). Both counts are integers, exact in
    floating point, so the values are those of `decayed_lr`. Three kernels per step and one to advance (the counts
    are kept as (k, −j), so that adding (found, not found) advances both)."""

    def __init__(self, lr_init: Tensor, num_steps: int, reduction: float, out: Tensor) -> None:
        """lr_init: η⁽⁰⁾ [B, 1] (read at each call); out: the [B, 1] buffer that receives η⁽ⁱ⁾."""
        self.lr_init, self.out = lr_init, out
        self.reduction = torch.tensor(reduction, device=lr_init.device, dtype=lr_init.dtype)  # a tensor base: faster
        self.counts = torch.zeros(len(lr_init), 2, device=lr_init.device, dtype=lr_init.dtype)
        self.counts[:, 1] = -num_steps
        self._since, self._minus_left = self.counts[:, :1], self.counts[:, 1:]
        self._zero, self._exponent = torch.zeros_like(lr_init), torch.empty_like(lr_init)

    def __call__(self) -> Tensor:
        """η⁽ⁱ⁾ into `out`."""
        torch.addcdiv(self._zero, self._since, self._minus_left, value=-1, out=self._exponent)  # k / j
        torch.pow(self.reduction, self._exponent, out=self.out)
        return self.out.mul_(self.lr_init)

    def advance(self, found: Tensor) -> None:
        """To the next step; found [B, 2]: (adversarial at this step or before, not) as 1 or 0."""
        self.counts.add_(found)
