"""Steps per attack normalised to a query budget (forwards + backwards per sample), as AttackBench does: an attack of
one forward and one backward per step gets budget / 2 steps (1000 at AttackBench's 2000), the others fewer."""
from __future__ import annotations

import torch

from ..compare.attacks import apgd_search, get_attack

QUERIES_PER_STEP = {"fab": "2 forwards + K − 1 backwards per iteration", "cw-l2": "2 × 9 × 10 per step N",
                    "apgd": "2 × binary-search steps × (K − 1) targets per iteration N",
                    "perc-al": "2 forwards + 1 backward per iteration"}


def normalised_steps(attack: str, budget: int, classes: int, input_numel: int) -> int:
    """The attack's N (its `budget` argument in `alma.compare`) whose queries fit in `budget` per sample."""
    name = get_attack(attack).name
    if name.startswith("fab"):
        per_step = 2 + classes - 1
    elif name == "cw-l2":
        per_step = 2 * 9 * 10
    elif name.startswith("apgd"):
        per_step = 2 * apgd_search(torch.empty(1, input_numel))[1] * (classes - 1)
    elif name == "perc-al":
        per_step = 3
    else:
        per_step = 2
    return max(1, budget // per_step)


def how_counted(attack: str) -> str:
    """What one step costs, in words."""
    name = get_attack(attack).name
    for prefix, text in QUERIES_PER_STEP.items():
        if name.startswith(prefix):
            return text
    return "1 forward + 1 backward per step"
