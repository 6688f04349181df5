"""The four axioms of a penalty-Lagrangian function (paper, Section 3.1), checked numerically in float64."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from alma.penalties import Penalty

GRID_Y = torch.linspace(-3, 3, 601, dtype=torch.float64)
GRID_RHO = (0.5, 1.0, 4.0, 20.0)
GRID_MU = (1e-3, 0.3, 1.0, 7.0)
RHO_LIMIT = (1.0, 1e3, 1e6)
"""ρ values that stand for ρ → ∞ (the limit axioms compare P′ at the first and the last)."""


@dataclass(frozen=True)
class AxiomCheck:
    axiom: str
    passed: bool
    evidence: str


def _derivative(penalty: Penalty, y: float | torch.Tensor, rho: float, mu: float) -> torch.Tensor:
    y = torch.as_tensor(y, dtype=torch.float64)
    return penalty.derivative(y, torch.full_like(y, rho), torch.full_like(y, mu))


def check_axioms(penalty: Penalty, rho: float, mu: float) -> list[AxiomCheck]:
    """The four axioms on a grid of y, ρ and μ that includes the given ρ and μ; evidence in numbers."""
    rhos, mus = (*GRID_RHO, rho), (*GRID_MU, mu)
    lowest = min(float(_derivative(penalty, GRID_Y, r, m).min()) for r in rhos for m in mus)
    at_zero = max(abs(float(_derivative(penalty, 0.0, r, m)) - m) / m for r in rhos for m in mus)
    violated = [float(_derivative(penalty, 0.5, r, mu)) for r in RHO_LIMIT]
    satisfied = [float(_derivative(penalty, -0.5, r, mu)) for r in RHO_LIMIT]
    series = ", ".join(f"{r:g}" for r in RHO_LIMIT)
    return [
        AxiomCheck("P′(y) ≥ 0 everywhere", lowest >= 0, f"smallest P′ on the grid: {lowest:.3g}"),
        AxiomCheck("P′(0) = μ", at_zero <= 1e-9, f"largest relative error: {at_zero:.1e}"),
        AxiomCheck("violated (y > 0), ρ → ∞: P′ → ∞", violated[-1] > 1e4 * violated[0],
                   f"P′(0.5) at ρ = {series}: " + ", ".join(f"{v:.3g}" for v in violated)),
        AxiomCheck("satisfied (y < 0), ρ → ∞: P′ → 0", satisfied[-1] < 1e-4 * mu,
                   f"P′(−0.5) at ρ = {series}: " + ", ".join(f"{v:.3g}" for v in satisfied)),
    ]
