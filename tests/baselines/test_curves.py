"""Robust-accuracy curves: exact on a hand-made example, monotone, and consistent with the step curve."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from alma.compare import accuracy_curve, median_distance, robust_accuracy

INF = float("inf")


def test_hand_made_example() -> None:
    """Four samples: misclassified (0), broken at 1 and 2, never broken (inf)."""
    d = torch.tensor([2.0, 0.0, INF, 1.0])
    assert robust_accuracy(d, [0, 0.5, 1, 1.5, 2, 100]).tolist() == [0.75, 0.75, 0.5, 0.5, 0.25, 0.25]
    budgets, accuracy = accuracy_curve(d)
    assert budgets.tolist() == [0, 1, 2] and accuracy.tolist() == [0.75, 0.5, 0.25]
    assert median_distance(d) == 1.5
    assert median_distance([1, 2, INF]) == 2 and median_distance([1, INF, INF]) == INF


def test_monotone_and_consistent_with_the_step_curve() -> None:
    rng = np.random.default_rng(0)
    d = np.concatenate([rng.exponential(2, 200), np.zeros(5), np.full(10, INF)])
    grid = np.linspace(0, 20, 401)
    values = robust_accuracy(d, grid)
    assert (np.diff(values) <= 0).all() and values[0] == 1 - 5 / 215 and values[-1] >= 10 / 215
    budgets, accuracy = accuracy_curve(d)
    assert (np.diff(budgets) > 0).all() and (np.diff(accuracy) < 0).all()
    for eps in grid:  # the step curve's value at eps is that of the last budget ≤ eps
        assert accuracy[np.searchsorted(budgets, eps, side="right") - 1] == robust_accuracy(d, [eps])[0]


def test_all_failed_and_bad_input() -> None:
    budgets, accuracy = accuracy_curve([INF, INF])
    assert budgets.tolist() == [0] and accuracy.tolist() == [1]
    assert math.isinf(median_distance([INF, INF]))
    with pytest.raises(ValueError):
        robust_accuracy([1.0, float("nan")], [0])
    with pytest.raises(ValueError):
        median_distance([])
