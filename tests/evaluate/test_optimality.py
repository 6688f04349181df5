"""AttackBench's local optimality: 1 for the envelope, 0 for an attack that finds nothing, and a hand-worked case."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alma.evaluate import envelope, local_optimality, ranking

INF = np.inf
CORRECT = np.array([True, True, True, False])  # the last input is misclassified: distance 0 for every attack


def test_a_hand_worked_example() -> None:
    """The misclassified input counts 0 (not 5 or 7); d_max = 3 (B's largest finite distance); areas (mean of
    min(d, 3)): A (1 + 2 + 3 + 0) / 4 = 1.5 (its failure counts d_max), B (3 + 1 + 3 + 0) / 4 = 1.75, envelope
    (1 + 1 + 3 + 0) / 4 = 1.25; nothing found: 0.75 · 3 = 2.25. LO_A = 1 − 0.25 / 1 = 0.75, LO_B = 1 − 0.5 / 1."""
    distances = {"A": np.array([1.0, 2.0, INF, 5.0]), "B": np.array([3.0, 1.0, 3.0, 7.0])}
    scores = local_optimality(distances, CORRECT)
    assert scores == pytest.approx({"A": 0.75, "B": 0.5})


def test_the_envelope_scores_one_and_finding_nothing_zero() -> None:
    rng = np.random.default_rng(0)
    distances = {name: np.where(rng.random(50) < 0.2, INF, rng.exponential(size=50)) for name in "ABC"}
    correct = rng.random(50) < 0.9
    distances["envelope"] = envelope(distances)
    distances["nothing"] = np.full(50, INF)
    scores = local_optimality(distances, correct)
    assert scores["envelope"] == pytest.approx(1.0) and scores["nothing"] == pytest.approx(0.0)
    assert all(0 <= scores[name] <= 1 for name in "ABC")


def test_ranking_by_the_mean_over_models() -> None:
    rows = pd.DataFrame({"model": ["m1", "m1", "m2", "m2"], "attack": ["A", "B", "A", "B"],
                         "optimality": [0.9, 0.5, 0.4, 0.6]})
    table = ranking(rows)
    assert table["attack"].tolist() == ["A", "B"] and table["rank"].tolist() == [1, 2]
    assert table["mean"].tolist() == pytest.approx([0.65, 0.55])
