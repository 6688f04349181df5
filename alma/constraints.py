"""Constraint functions c(z): negative if and only if the logits z are adversarial.

"dlr" is the paper's modified Difference of Logits Ratio (DLR⁺, tDLR⁺ when targeted); "logit_diff" is the plain
difference of logits (as in C&W). Both include the reference implementation's logit tolerance κ (1e-4): untargeted,
c < 0 needs z_y < max_{j≠y} z_j − κ; targeted, c < 0 needs z_t > max_{j≠t} z_j + κ. (The reference code adds κ with
the same sign in both cases, which turns the targeted margin into a slack; here it is a margin in both.)

DLR's denominator needs the 3 largest logits (4 targeted). With fewer classes (e.g. a 2-class model) "dlr" falls
back to the logit difference divided by its magnitude at the clean input, so that c starts at ±1 as DLR does and
stays invariant to shifting and scaling the logits.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

ConstraintFn = Callable[[Tensor], Tensor]
CONSTRAINTS = ("dlr", "logit_diff")


def logit_margin(logits: Tensor, labels: Tensor, labels_infhot: Tensor) -> Tensor:
    """z_y − max_{j≠y} z_j for each sample."""
    class_logits = logits.gather(1, labels.unsqueeze(1)).squeeze(1)
    other_logits = (logits - labels_infhot).amax(dim=1)
    return class_logits - other_logits


def dlr_denominator(logits: Tensor, targeted: bool) -> Tensor:
    """z_π1 − z_π3 (untargeted) or z_π1 − (z_π3 + z_π4)/2 (targeted), plus 1e-8."""
    if targeted:
        top = logits.topk(k=4, dim=1).values
        return top[:, 0] - (top[:, -2] + top[:, -1]) / 2 + 1e-8
    top = logits.topk(k=3, dim=1).values
    return top[:, 0] - top[:, -1] + 1e-8


def make_constraint(name: str, clean_logits: Tensor, labels: Tensor, targeted: bool,
                    tolerance: float = 1e-4) -> ConstraintFn:
    """c(·) for these labels (true labels, or targets when `targeted`); `clean_logits` are f(x) at the clean input."""
    if name not in CONSTRAINTS:
        raise ValueError(f"unknown constraint {name!r}; available: {', '.join(CONSTRAINTS)}")
    num_classes = clean_logits.shape[1]
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be class indices in [0, {num_classes}) for this model")
    infhot = torch.zeros_like(clean_logits).scatter_(1, labels.unsqueeze(1), float("inf"))
    sign = -1 if targeted else 1
    shift = -tolerance if targeted else tolerance  # κ is a margin on the adversarial side in both cases

    def margin(logits: Tensor) -> Tensor:
        return sign * (logit_margin(logits, labels, infhot) + shift)

    if name == "logit_diff":
        return margin
    if num_classes >= (4 if targeted else 3):
        return lambda logits: margin(logits) / dlr_denominator(logits, targeted)
    scale = logit_margin(clean_logits, labels, infhot).detach().abs().clamp(min=1e-6)
    return lambda logits: margin(logits) / scale
