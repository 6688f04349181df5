"""Invariants of the recorded trace, on real and degenerate inputs, and the on_step protocol."""
from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

import alma
from alma.lr import BISECTION_STEPS, MAX_DOUBLINGS

from .conftest import Linear

NUM_STEPS = 120


class ConstantLogits(nn.Module):
    """A model whose output does not depend on its input: every gradient is exactly zero."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.tensor([2.0, 1.0, 0.5, 0.0]).expand(len(x), 4) + 0 * x.flatten(1)[:, :1]


def predicted(model: nn.Module, x: Tensor) -> Tensor:
    with torch.no_grad():
        return model(x).argmax(1)


@pytest.fixture(scope="module")
def cases(smallcnn, mnist_batch) -> dict[str, tuple[nn.Module, Tensor, Tensor, dict]]:
    x, y = mnist_batch[0][:12], mnist_batch[1][:12]
    plain = {name: torch.full((3, 1, 28, 28), value) for name, value in
             [("black", 0.0), ("white", 1.0), ("constant", 0.4)]}
    gen = torch.Generator().manual_seed(0)
    two_classes = Linear(torch.randn(2, 48, generator=gen), torch.randn(2, generator=gen))
    x2 = torch.rand(8, 3, 4, 4, generator=gen)
    cases = {
        "untargeted": (smallcnn, x, y, {}),
        "targeted": (smallcnn, x, (y + 1) % 10, {"targeted": True}),
        "l1": (smallcnn, x, y, {"distance": "l1"}),
        "zero_gradient": (ConstantLogits(), x[:4], torch.zeros(4, dtype=torch.long), {"seed": 0}),
        "two_classes": (two_classes, x2, predicted(two_classes, x2), {}),
    }
    cases.update({name: (smallcnn, img, predicted(smallcnn, img), {}) for name, img in plain.items()})
    return cases


CASE_NAMES = ["untargeted", "targeted", "l1", "zero_gradient", "two_classes", "black", "white", "constant"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_trace_invariants(cases, name: str) -> None:
    model, x, y, settings = cases[name]
    result = alma.attack(model, x, y, num_steps=NUM_STEPS, **settings)
    t = result.trace
    n, lr_reduction = NUM_STEPS, result.config["lr_reduction"]

    assert t.num_steps == n and t.distance.shape == (n, len(x))
    assert (result.num_forwards == n).all() and (result.num_backwards == n).all()
    for field in ("distance", "constraint", "mu", "rho", "lr", "grad_norm"):
        assert torch.isfinite(getattr(t, field)).all(), field
    assert torch.isfinite(result.adv_inputs).all() and 0 <= result.adv_inputs.min() <= result.adv_inputs.max() <= 1

    assert ((t.mu >= 1e-6) & (t.mu <= 1e12)).all()
    assert (t.rho[1:] >= t.rho[:-1]).all()
    assert (t.best_distance[1:] <= t.best_distance[:-1]).all()
    assert torch.equal(result.success, t.is_adv.any(0))
    torch.testing.assert_close(result.distances, t.best_distance[-1])
    failed = ~result.success
    assert torch.equal(result.adv_inputs[failed], x[failed])

    for k in range(len(x)):
        s = int(t.first_adv_step[k])
        if s < 0:  # never adversarial: constant learning rate, no best distance
            assert torch.all(t.lr[:, k] == t.lr[0, k]) and torch.isinf(t.best_distance[:, k]).all()
            continue
        assert not t.is_adv[:s, k].any() and t.is_adv[s, k]
        assert torch.isinf(t.best_distance[:s, k]).all() and torch.isfinite(t.best_distance[s:, k]).all()
        assert torch.all(t.rho[s:, k] == t.rho[s, k])  # frozen once adversarial
        assert torch.all(t.lr[:s + 1, k] == t.lr[0, k])  # exploration: constant
        if s < n - 1:  # exploitation: exponential decay towards lr·lr_reduction at step N
            assert (t.lr[s + 1:, k] < t.lr[s:-1, k]).all()
            expected_last = t.lr[0, k] * lr_reduction ** ((n - 1 - s) / (n - s))
            torch.testing.assert_close(t.lr[-1, k], expected_last, rtol=1e-5, atol=0)
    if name == "zero_gradient":
        assert (t.grad_norm[0] == 0).all() and not result.success.any()  # then only D has a gradient


def test_adversarial_labels_are_what_the_model_predicts(cases) -> None:
    for name in ("untargeted", "targeted", "two_classes"):
        model, x, y, settings = cases[name]
        result = alma.attack(model, x, y, num_steps=NUM_STEPS, **settings)
        pred = predicted(model, result.adv_inputs)
        hit = pred == y if settings.get("targeted") else pred != y
        assert torch.equal(hit, result.success) and result.success.float().mean() >= 0.75, name


def test_blocked_learning_rate_search_is_capped_and_flagged() -> None:
    """All-black input and a gradient that is positive everywhere: no step size can move it (the box blocks the
    direction), which made the reference search loop forever."""
    model = Linear(torch.stack([torch.full((48,), 1.0), torch.zeros(48), torch.zeros(48)]), torch.tensor([1.0, 0, -1]))
    x = torch.zeros(2, 3, 4, 4)
    result = alma.attack(model, x, torch.zeros(2, dtype=torch.long), num_steps=20, lr_init=0.05)
    t = result.trace
    assert t.lr_search_failed.all()
    assert torch.all(t.lr_init == 0.05) and torch.all(t.lr == 0.05)
    assert result.lr_search_distance_evals == 1 + MAX_DOUBLINGS + BISECTION_STEPS


def test_same_seed_same_trace(cases) -> None:
    model, x, y, _ = cases["zero_gradient"]  # the random directions matter here
    runs = [alma.attack(model, x, y, num_steps=30, seed=seed).trace for seed in (3, 3, 4)]
    frame = [run.to_dataframe() for run in runs]
    assert frame[0].equals(frame[1])
    assert not frame[0].equals(frame[2])


def test_on_step_streams_the_trace_and_can_stop(cases) -> None:
    model, x, y, _ = cases["untargeted"]
    seen: list[tuple[int, alma.Trace]] = []

    def on_step(step: int, rows: alma.Trace) -> bool:
        seen.append((step, rows))
        return step < 50

    result = alma.attack(model, x, y, num_steps=NUM_STEPS, on_step=on_step, every=10)
    assert [step for step, _ in seen] == [10, 20, 30, 40, 50]
    assert [rows.start for _, rows in seen] == [0, 10, 20, 30, 40]
    assert result.stopped and result.steps == 50 and result.trace.num_steps == 50
    assert (result.num_forwards == 50).all()
    streamed = torch.cat([rows.distance for _, rows in seen])
    assert torch.equal(streamed, result.trace.distance)
    distances = (result.adv_inputs - x).flatten(1).norm(dim=1)
    torch.testing.assert_close(distances[result.success], result.distances[result.success])
    assert torch.equal(predicted(model, result.adv_inputs) != y, result.success)


def test_on_step_gets_the_remainder_at_the_end(cases) -> None:
    model, x, y, _ = cases["untargeted"]
    steps: list[int] = []
    result = alma.attack(model, x[:2], y[:2], num_steps=25, record=False, every=10,
                         on_step=lambda step, rows: steps.append((step, rows.num_steps)))
    assert steps == [(10, 10), (20, 10), (25, 5)]
    assert result.trace is None and not result.stopped


def test_recording_does_not_change_the_attack(cases) -> None:
    model, x, y, _ = cases["untargeted"]
    with_trace = alma.attack(model, x, y, num_steps=60)
    without = alma.attack(model, x, y, num_steps=60, record=False)
    assert torch.equal(with_trace.adv_inputs, without.adv_inputs)


def test_dataframe_is_long_format(cases) -> None:
    model, x, y, _ = cases["untargeted"]
    t = alma.attack(model, x[:3], y[:3], num_steps=15).trace
    frame = t.to_dataframe()
    assert len(frame) == 15 * 3
    assert set(frame.columns) == {"step", "sample", "distance", "best_distance", "constraint", "mu", "rho", "lr",
                                  "is_adv", "grad_norm"}
    row = frame[(frame.step == 7) & (frame["sample"] == 2)].iloc[0]
    assert row.mu == pytest.approx(t.mu[7, 2].item()) and row.constraint == pytest.approx(t.constraint[7, 2].item())
