"""Robust accuracy as a function of the distance budget (the paper's Figures 4 and 5), from per-sample distances.

A sample's distance is that of the adversarial an attack found for it: 0 when the clean input is already misclassified,
+inf when the attack failed. The model is robust at a sample within budget ε when no adversarial at distance ≤ ε was
found, so the robust accuracy at ε is the fraction of distances > ε; it starts at the clean accuracy (ε = 0) and never
increases.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor

Distances = Tensor | np.ndarray | Sequence[float]


def _array(values: Distances) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().cpu().double().numpy()
    array = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(array).any() or (array < 0).any():
        raise ValueError("distances must be ≥ 0 (+inf for a failed attack), not NaN")
    return array


def robust_accuracy(distances: Distances, budgets: Distances) -> np.ndarray:
    """The fraction of samples whose distance exceeds each budget ε (one value per budget)."""
    values, eps = np.sort(_array(distances)), np.asarray(budgets, dtype=np.float64)
    if not len(values):
        raise ValueError("no distances")
    return (len(values) - np.searchsorted(values, eps, side="right")) / len(values)


def accuracy_curve(distances: Distances) -> tuple[np.ndarray, np.ndarray]:
    """The exact step curve: budgets (0 and every distinct finite distance above it) and the robust accuracy from each
    budget up to the next; draw it as a horizontal-then-vertical step line."""
    values = _array(distances)
    finite = np.unique(values[np.isfinite(values) & (values > 0)])
    budgets = np.concatenate([[0.0], finite])
    return budgets, robust_accuracy(values, budgets)


def median_distance(distances: Distances) -> float:
    """The median distance, failures counting as +inf (so it is +inf when half the samples or more failed)."""
    values = _array(distances)
    if not len(values):
        raise ValueError("no distances")
    return float(np.median(values))
