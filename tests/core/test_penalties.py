"""Penalty-Lagrangian functions: closed-form derivatives and the four axioms of the paper (Section 3.1)."""
from __future__ import annotations

import pytest
import torch

from alma.penalties import PENALTIES

NAMES = sorted(PENALTIES)


def grid(dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    y = torch.linspace(-3, 3, 601, dtype=dtype)
    rho = torch.tensor([0.5, 1.0, 4.0, 20.0], dtype=dtype)
    mu = torch.tensor([1e-3, 0.3, 1.0, 7.0], dtype=dtype)
    y, rho, mu = torch.meshgrid(y, rho, mu, indexing="ij")
    return y.reshape(-1), rho.reshape(-1), mu.reshape(-1)


def test_at_least_five_penalties_including_the_papers() -> None:
    assert {"P2", "PHRQuad"} <= set(PENALTIES) and len(PENALTIES) >= 5


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_autograd(name: str) -> None:
    penalty = PENALTIES[name]
    y, rho, mu = grid()
    y = y.clone().requires_grad_(True)
    (autograd,) = torch.autograd.grad(penalty.value(y, rho, mu).sum(), y)
    torch.testing.assert_close(penalty.derivative(y.detach(), rho, mu), autograd, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_axioms(name: str) -> None:
    penalty = PENALTIES[name]
    y, rho, mu = grid()
    prime = penalty.derivative(y, rho, mu)
    assert (prime >= 0).all(), "axiom 1: P' ≥ 0"
    zero = torch.zeros_like(mu)
    torch.testing.assert_close(penalty.derivative(zero, rho, mu), mu, msg="axiom 2: P'(0) = μ")
    torch.testing.assert_close(penalty.value(zero, rho, mu), zero, msg="P(0) = 0")

    mu = torch.tensor([0.5, 2.0], dtype=torch.float64)
    rho_small, rho_large = torch.tensor(1.0, dtype=torch.float64), torch.tensor(1e6, dtype=torch.float64)
    for y_value in (0.1, 1.0):  # axiom 3: violated constraint, ρ → ∞: P' → ∞
        y = torch.full_like(mu, y_value)
        assert (penalty.derivative(y, rho_large, mu) > 1e4 * penalty.derivative(y, rho_small, mu)).all()
    for y_value in (-0.1, -1.0):  # axiom 4: satisfied constraint, ρ → ∞: P' → 0
        y = torch.full_like(mu, y_value)
        assert (penalty.derivative(y, rho_large, mu) < 1e-4 * mu).all()


@pytest.mark.parametrize("name", NAMES)
def test_finite_in_float32_over_the_range_an_attack_reaches(name: str) -> None:
    """c ≤ 1 for DLR (up to tens for logit differences), ρ ≤ 1.2^100 in 1000 steps, μ within [1e-6, 1e12]."""
    y, rho, mu = torch.meshgrid(torch.tensor([-50.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 50.0]),
                                torch.tensor([1.0, 1e8]), torch.tensor([1e-6, 1.0, 1e12]), indexing="ij")
    penalty = PENALTIES[name]
    assert torch.isfinite(penalty.value(y, rho, mu)).all()
    assert torch.isfinite(penalty.derivative(y, rho, mu)).all()
