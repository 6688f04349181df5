"""Penalty-Lagrangian functions P(y, ρ, μ) and their derivatives ∂P/∂y (Birgin, Castillo & Martínez, 2005).

Each satisfies the four axioms of the paper (Section 3.1): P' ≥ 0; P'(0) = μ; P' → ∞ when y > 0 and ρ → ∞;
P' → 0 when y < 0 and ρ → ∞. The derivative is written in closed form: ALMA uses it for the multiplier update μ̂.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

PenaltyFn = Callable[[Tensor, Tensor, Tensor], Tensor]

_MAX_EXPONENT = 50.0  # keeps the exponential penalty finite in float32


@dataclass(frozen=True)
class Penalty:
    """P(y, ρ, μ) (`value`) with ∂P/∂y (`derivative`), a LaTeX formula and a one-line description."""

    name: str
    value: PenaltyFn
    derivative: PenaltyFn
    formula: str
    description: str


def _p2(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    y_sup = mu * y + mu * rho * y ** 2 + 1 / 6 * rho ** 2 * y ** 3
    y_inf = mu * y / (1 - rho * y.clamp(max=0))
    return torch.where(y >= 0, y_sup, y_inf)


def _p2_prime(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    y_sup = mu + 2 * mu * rho * y + 0.5 * rho ** 2 * y ** 2
    y_inf = mu / (1 - rho * y.clamp(max=0)) ** 2
    return torch.where(y >= 0, y_sup, y_inf)


def _p3(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    y_sup = mu * y + mu * rho * y ** 2
    y_inf = mu * y / (1 - rho * y.clamp(max=0))
    return torch.where(y >= 0, y_sup, y_inf)


def _p3_prime(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    y_sup = mu + 2 * mu * rho * y
    y_inf = mu / (1 - rho * y.clamp(max=0)) ** 2
    return torch.where(y >= 0, y_sup, y_inf)


def _p1(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    y_sup = mu * y + 0.5 * rho * y ** 2 + rho ** 2 * y ** 3
    y_mid = mu * y + 0.5 * rho * y ** 2
    y_inf = -mu ** 2 / (2 * rho)
    return torch.where(y >= 0, y_sup, torch.where(y <= -mu / rho, y_inf, y_mid))


def _p1_prime(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    y_sup = mu + rho * y + 3 * rho ** 2 * y ** 2
    y_mid = mu + rho * y
    return torch.where(y >= 0, y_sup, torch.where(y <= -mu / rho, torch.zeros_like(y_mid), y_mid))


def _phr_quad(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    return ((mu + rho * y).relu() ** 2 - mu ** 2) / (2 * rho)


def _phr_quad_prime(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    return (mu + rho * y).relu()


def _exp(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    t = rho * y
    capped = t.clamp(max=_MAX_EXPONENT)  # beyond the cap, continued linearly with the slope at the cap
    return mu / rho * (torch.expm1(capped) + torch.exp(capped) * (t - capped))


def _exp_prime(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    return mu * torch.exp((rho * y).clamp(max=_MAX_EXPONENT))


PENALTIES: dict[str, Penalty] = {p.name: p for p in [
    Penalty("P2", _p2, _p2_prime,
            r"P_2 = \begin{cases} \mu y + \mu\rho y^2 + \tfrac{1}{6}\rho^2 y^3 & y \ge 0 \\"
            r" \dfrac{\mu y}{1 - \rho y} & y < 0 \end{cases}",
            "Kort & Bertsekas; the paper's choice: its derivative grows fast, so μ reacts quickly."),
    Penalty("PHRQuad", _phr_quad, _phr_quad_prime,
            r"P_{\mathrm{PHR}} = \dfrac{\max(0, \mu + \rho y)^2 - \mu^2}{2\rho}",
            "Powell-Hestenes-Rockafellar quadratic; the most robust in Birgin et al., gentler than P2."),
    Penalty("P1", _p1, _p1_prime,
            r"P_1 = \begin{cases} \mu y + \tfrac{1}{2}\rho y^2 + \rho^2 y^3 & y \ge 0 \\"
            r" \mu y + \tfrac{1}{2}\rho y^2 & -\mu/\rho \le y < 0 \\ -\dfrac{\mu^2}{2\rho} & y < -\mu/\rho"
            r" \end{cases}",
            "Quadratic with a cubic term when violated; flat (P' = 0) far inside the feasible set."),
    Penalty("P3", _p3, _p3_prime,
            r"P_3 = \begin{cases} \mu y + \mu\rho y^2 & y \ge 0 \\ \dfrac{\mu y}{1 - \rho y} & y < 0 \end{cases}",
            "P2 without the cubic term: a slower-growing derivative when the constraint is violated."),
    Penalty("Exp", _exp, _exp_prime,
            r"P_{\exp} = \dfrac{\mu}{\rho}\left(e^{\rho y} - 1\right)",
            "Exponential multiplier method (P5 with θ = exp); continued linearly beyond ρy = 50 to stay finite."),
]}


def get(penalty: str | Penalty) -> Penalty:
    """The penalty of that name (a `Penalty` is returned as is)."""
    if isinstance(penalty, Penalty):
        return penalty
    try:
        return PENALTIES[penalty]
    except KeyError:
        raise ValueError(f"unknown penalty {penalty!r}; available: {', '.join(PENALTIES)}") from None
