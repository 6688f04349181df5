"""AttackBench's optimality (Cinà, Rony et al., "AttackBench: Evaluating Gradient-based Attacks for Adversarial
Examples", AAAI 2025).

Per sample, an attack's distance d (its best adversarial at any query; 0 when the clean input is misclassified, +inf
when it found none) gives a robust-accuracy curve ρ(ε) = P(d > ε). Over [0, d_max] its area is
A = mean_i min(d_i, d_max). The envelope d*_i = min over the attacks (same model, same distance) has the smallest
area A*, and an attack that finds nothing has the largest, clean_acc · d_max. The local optimality of an attack is

    LO = 1 − (A − A*) / (clean_acc · d_max − A*),

1 for the envelope and 0 for finding nothing; d_max is the largest finite distance any of the attacks found.
AttackBench reports LO per model and its mean over the models, and ranks the attacks by that mean.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def envelope(distances: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per sample, the smallest distance over the attacks."""
    return np.min(np.stack([np.asarray(d, dtype=float) for d in distances.values()]), axis=0)


def area(distances: np.ndarray, d_max: float) -> float:
    """The area under the robust-accuracy curve over [0, d_max]: mean_i min(d_i, d_max)."""
    return float(np.minimum(np.asarray(distances, dtype=float), d_max).mean())


def local_optimality(distances: Mapping[str, np.ndarray], correct: np.ndarray) -> dict[str, float]:
    """LO of each attack against the envelope of all of them; `correct` marks the clean inputs classified correctly
    (their distances must be 0 elsewhere). NaN when the envelope found nothing (no finite distance)."""
    values = {name: np.where(correct, np.asarray(d, dtype=float), 0.0) for name, d in distances.items()}
    best = envelope(values)
    finite = np.concatenate([d[np.isfinite(d)] for d in values.values()])
    d_max = float(finite.max()) if len(finite) else 0.0
    lowest, highest = area(best, d_max), float(np.mean(correct)) * d_max
    if highest - lowest <= 0:
        return {name: float("nan") for name in values}
    return {name: 1 - (area(d, d_max) - lowest) / (highest - lowest) for name, d in values.items()}


def ranking(optimality: pd.DataFrame) -> pd.DataFrame:
    """From one row per (model, attack) with column `optimality`: one row per attack with its LO on each model, the
    mean over the models and the rank (1: best), sorted by rank, as AttackBench prints it."""
    table = optimality.pivot_table(index="attack", columns="model", values="optimality", sort=False)
    table["mean"] = table.mean(axis=1)
    table = table.sort_values("mean", ascending=False)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index()
