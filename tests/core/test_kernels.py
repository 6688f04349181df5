"""The loop's in-place pieces against their plain definitions: the constraint and its closed-form gradient (autograd of
`make_constraint`), P2's derivative parts (`_p2_prime`), and the incremental learning-rate schedule (`decayed_lr`)."""
from __future__ import annotations

import pytest
import torch

from alma.constraints import ConstraintKernel, make_constraint
from alma.lr import DecaySchedule, decayed_lr
from alma.penalties import PENALTIES, P2Parts


@pytest.mark.parametrize("name, classes, targeted", [("dlr", 10, False), ("dlr", 10, True), ("dlr", 2, False),
                                                     ("dlr", 3, True), ("logit_diff", 10, False),
                                                     ("logit_diff", 10, True)])
@pytest.mark.parametrize("batch", [1, 7])
def test_constraint_and_its_gradient(name: str, classes: int, targeted: bool, batch: int) -> None:
    gen = torch.Generator().manual_seed(classes + batch)
    clean = 3 * torch.randn(batch, classes, generator=gen, dtype=torch.float64)
    labels = torch.randint(classes, (batch,), generator=gen)
    kernel = ConstraintKernel(name, clean, labels, targeted, 1e-4, out=torch.empty(batch, 1, dtype=torch.float64))
    reference = make_constraint(name, clean, labels, targeted, 1e-4)
    for moved in (clean, clean + torch.randn(clean.shape, generator=gen, dtype=torch.float64)):
        logits = moved.clone().requires_grad_(True)
        c = reference(logits)
        weight = torch.rand(batch, generator=gen, dtype=torch.float64) + 0.5  # ∂L/∂c per sample
        (expected,) = torch.autograd.grad((weight * c).sum(), logits)
        torch.testing.assert_close(kernel(moved).view(-1), c.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(kernel.backward(weight.view(-1, 1)), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_p2_parts_give_the_derivative(dtype: torch.dtype) -> None:
    y = torch.linspace(-3, 3, 601, dtype=dtype).repeat(4).view(-1, 1)
    rho = torch.tensor([0.5, 1.0, 4.0, 20.0], dtype=dtype).repeat_interleave(601).view(-1, 1)
    mu = torch.full_like(y, 0.7)
    parts = P2Parts(rho)
    a, b = parts(y)
    expected = PENALTIES["P2"].derivative(y.double(), rho.double(), mu.double())
    tolerance = 1e-6 if dtype == torch.float32 else 1e-13
    torch.testing.assert_close((mu * a + b).double(), expected, rtol=tolerance, atol=tolerance)
    parts.set_rho(2 * rho)  # ρ changes at the ρ checks
    a, b = parts(y)
    expected = PENALTIES["P2"].derivative(y.double(), 2 * rho.double(), mu.double())
    torch.testing.assert_close((mu * a + b).double(), expected, rtol=tolerance, atol=tolerance)


def test_schedule_is_decayed_lr_exactly() -> None:
    """Samples found adversarial at different steps (and one never): every step's η equals `decayed_lr`."""
    num_steps, reduction = 50, 0.01
    first = torch.tensor([0, 3, 17, 49, num_steps + 1])  # N + 1: never
    lr_init = torch.tensor([0.1, 0.5, 1.0, 2.0, 0.3]).view(-1, 1)
    out = torch.empty_like(lr_init)
    schedule = DecaySchedule(lr_init, num_steps, reduction, out)
    for step in range(num_steps):
        expected = decayed_lr(lr_init.view(-1), step, first.float(), num_steps, reduction)
        assert torch.equal(schedule().view(-1), expected), step
        found = (first <= step).float().view(-1, 1)
        schedule.advance(torch.cat([found, 1 - found], dim=1))
