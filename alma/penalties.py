"""Penalty-Lagrangian functions P(y, ρ, μ) and their derivatives ∂P/∂y (Birgin, Castillo & Martínez, 2005).

Each satisfies the four axioms of the paper (Section 3.1): P' ≥ 0; P'(0) = μ; P' → ∞ when y > 0 and ρ → ∞;
P' → 0 when y < 0 and ρ → ∞. The derivative is written in closed form: ALMA uses it for the multiplier update μ̂
and, through the chain rule, for the gradient of the penalty term. P2's derivative is affine in μ, P' = μ·A + B:
`P2Parts` evaluates A and B in four kernels into preallocated buffers, so that the loop gets P' at the old and the
new μ for one extra kernel each.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

PenaltyFn = Callable[[Tensor, Tensor, Tensor], Tensor]

_MAX_EXPONENT = 50.0  # keeps the exponential penalty finite in float32


class P2Parts:
    """A and B of P2'(y, ρ, μ) = μ·A + B (see `_p2_parts`) for [B, 1] columns y and ρ, into preallocated buffers.

    With u = (1 − t, t/√2), t = ρy: clamp(u, min=(1, 0))^(−2, 2) = ((1 + max(−t, 0))⁻², max(t, 0)²/2), so that
    A = first + 2√2·max(t, 0)/√2 and B = second: four kernels, no branch. Call `set_rho` whenever ρ changes.
    """

    def __init__(self, rho: Tensor) -> None:
        like = rho.expand(-1, 2)
        self._signs = torch.tensor([-1.0, math.sqrt(0.5)], device=rho.device, dtype=rho.dtype)
        self._offset = torch.tensor([1.0, 0.0], device=rho.device, dtype=rho.dtype)
        self._exponent = torch.tensor([-2.0, 2.0], device=rho.device, dtype=rho.dtype)
        self._rho, self._u, self._powers = torch.empty_like(like), torch.empty_like(like), torch.empty_like(like)
        self._a = torch.empty_like(rho)
        self._first, self._second, self._positive = self._powers[:, :1], self._powers[:, 1:], self._u[:, 1:]
        self.set_rho(rho)

    def set_rho(self, rho: Tensor) -> None:
        torch.mul(rho, self._signs, out=self._rho)

    def __call__(self, y: Tensor) -> tuple[Tensor, Tensor]:
        torch.addcmul(self._offset, self._rho, y, out=self._u)
        self._u.clamp_(min=self._offset)
        torch.pow(self._u, self._exponent, out=self._powers)
        torch.add(self._first, self._positive, alpha=2 * math.sqrt(2), out=self._a)
        return self._a, self._second


@dataclass(frozen=True)
class Penalty:
    """P(y, ρ, μ) (`value`) with ∂P/∂y (`derivative`), a LaTeX formula and a one-line description.

    parts: for a derivative affine in μ, P' = μ·A + B, a factory of an in-place evaluator of (A, B) from [B, 1]
    columns ρ (the factory's argument) and y (the evaluator's); the attack then skips calling `derivative` twice."""

    name: str
    value: PenaltyFn
    derivative: PenaltyFn
    formula: str
    description: str
    parts: Callable[[Tensor], P2Parts] | None = None


def _p2(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    t = rho * y
    y_sup = y * (mu * (1 + t) + t ** 2 / 6)  # μy + μρy² + ρ²y³/6 in Horner form
    y_inf = mu * y / (1 - t.clamp(max=0))
    return torch.where(y >= 0, y_sup, y_inf)


def _p2_parts(y: Tensor, rho: Tensor) -> tuple[Tensor, Tensor]:
    """P2' = μ·A + B with t = ρy, A = (1 + max(−t, 0))⁻² + 2 max(t, 0), B = max(t, 0)²/2: for y ≥ 0 this is
    μ + 2μρy + ρ²y²/2, for y < 0 it is μ/(1 − ρy)², one expression for both branches."""
    t = rho * y
    positive = t.clamp(min=0)
    return (1 - t.clamp(max=0)) ** -2 + 2 * positive, positive ** 2 / 2


def _p2_prime(y: Tensor, rho: Tensor, mu: Tensor) -> Tensor:
    a, b = _p2_parts(y, rho)
    return mu * a + b


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
            "Kort & Bertsekas; the paper's choice: its derivative grows fast, so μ reacts quickly.", P2Parts),
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
