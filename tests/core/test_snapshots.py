"""Iterate snapshots (`attack(..., snapshot_every=K)`) on the bundled MNIST model and real MNIST digits: they are the
iterates the trace describes, step by step, within float16 precision."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import Tensor, nn

import alma
from alma.constraints import make_constraint
from alma.distances import get
from alma.models import DEFAULT_MODEL, load_model
from alma.trace import concat

NUM_STEPS = 60


@pytest.fixture(scope="module")
def model(shared_data) -> nn.Module:
    with pytest.MonkeyPatch.context() as patch:  # module scope: the per-test ALMA_WEIGHTS_DIR is not set yet
        patch.setenv("ALMA_WEIGHTS_DIR", str(shared_data))
        return load_model(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def digits(model: nn.Module, mnist_test: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """Six test digits the model classifies correctly."""
    x, y = mnist_test[0][:20], mnist_test[1][:20]
    with torch.no_grad():
        keep = model(x).argmax(1) == y
    return x[keep][:6], y[keep][:6]


@pytest.fixture(scope="module")
def run(model: nn.Module, digits: tuple[Tensor, Tensor]) -> alma.AttackResult:
    x, y = digits
    return alma.attack(model, x, y, num_steps=NUM_STEPS, snapshot_every=1)


def half_ulp_norm(images: Tensor) -> Tensor:
    """‖x̃ − snapshot‖₂ can be at most this per image: half a float16 unit in the last place per pixel."""
    ulp = torch.maximum(torch.nextafter(images, torch.full_like(images, 2.0)) - images,
                        images - torch.nextafter(images, torch.full_like(images, -1.0)))
    return (ulp.float() / 2).flatten(1).norm(dim=1)


def test_layout(run: alma.AttackResult, digits: tuple[Tensor, Tensor]) -> None:
    x, _ = digits
    snaps = run.snapshots
    assert snaps is run.trace.snapshots and run.config["snapshot_every"] == 1
    assert torch.equal(snaps.steps, torch.arange(NUM_STEPS)) and snaps.steps.dtype == torch.long
    assert snaps.images.shape == (NUM_STEPS, *x.shape) and snaps.images.dtype == torch.float16
    assert snaps.images.device.type == "cpu" and 0 <= snaps.images.min() <= snaps.images.max() <= 1
    assert torch.equal(snaps.images[0], x.half())  # step 0: the clean input
    assert not torch.equal(snaps.images[1], snaps.images[0])


def test_snapshot_distance_is_the_traced_distance(run: alma.AttackResult, digits: tuple[Tensor, Tensor]) -> None:
    x, _ = digits
    images = run.snapshots.images
    distance = get("l2").build(x)
    measured = torch.stack([distance(images[k].float()) for k in range(NUM_STEPS)])
    bound = half_ulp_norm(images.flatten(0, 1)).view(NUM_STEPS, len(x)) + 1e-5
    assert ((measured - run.trace.distance).abs() <= bound).all()
    # the check can fail: the distance changes between consecutive steps by much more than the bound
    assert ((run.trace.distance[1:] - run.trace.distance[:-1]).abs() > bound[1:]).float().mean() > 0.9


def test_first_adversarial_snapshot(run: alma.AttackResult, model: nn.Module, digits: tuple[Tensor, Tensor]) -> None:
    """The snapshot of the first adversarial step is adversarial, the one before is not, by the attack's constraint
    (with its logit tolerance κ), wherever the traced constraint is clear of the float16 rounding."""
    x, y = digits
    t, images = run.trace, run.snapshots.images
    with torch.no_grad():
        constraint = make_constraint("dlr", model(x), y, targeted=False, tolerance=run.config["logit_tolerance"])
        c = torch.stack([constraint(model(images[k].float())) for k in range(NUM_STEPS)])
    torch.testing.assert_close(c, t.constraint, rtol=0, atol=0.02)
    checked = 0
    for k in range(len(x)):
        s = int(t.first_adv_step[k])
        assert s > 0, "the clean digits are classified correctly"
        if t.constraint[s, k] < -0.02 and t.constraint[s - 1, k] > 0.02:
            assert c[s, k] < 0 <= c[s - 1, k]
            assert model(images[s, k:k + 1].float()).argmax(1) != y[k]
            checked += 1
    assert checked >= len(x) // 2


def test_best_adversarial_is_the_snapshot_where_the_best_distance_last_decreased(run: alma.AttackResult) -> None:
    t = run.trace
    assert run.success.all()
    for k in range(len(run.adv_inputs)):
        best = t.best_distance[:, k]
        last = int(torch.nonzero(best[1:] < best[:-1])[-1]) + 1  # inf before the first adversarial step
        assert torch.equal(run.snapshots.images[last, k], run.adv_inputs[k].half())
        assert not torch.equal(run.snapshots.images[last - 1, k], run.adv_inputs[k].half())


def test_every_k_steps_and_stream(model: nn.Module, digits: tuple[Tensor, Tensor], run: alma.AttackResult) -> None:
    x, y = digits
    parts: list[alma.Trace] = []
    result = alma.attack(model, x, y, num_steps=NUM_STEPS, snapshot_every=7, every=10,
                         on_step=lambda step, rows: parts.append(rows))
    snaps = result.snapshots
    assert torch.equal(snaps.steps, torch.arange(0, NUM_STEPS, 7))
    assert torch.equal(snaps.images, run.snapshots.images[::7])  # the same attack, every 7th iterate
    for part in parts:
        assert ((part.snapshots.steps >= part.start) & (part.snapshots.steps < part.start + part.num_steps)).all()
    assert [len(p.snapshots) for p in parts] == [2, 1, 2, 1, 2, 1]
    streamed = concat(parts).snapshots
    assert torch.equal(streamed.steps, snaps.steps) and torch.equal(streamed.images, snaps.images)


def test_stopping_keeps_the_snapshots_of_the_steps_run(model: nn.Module, digits: tuple[Tensor, Tensor]) -> None:
    x, y = digits
    result = alma.attack(model, x[:2], y[:2], num_steps=NUM_STEPS, snapshot_every=4, every=10, record=False,
                         on_step=lambda step, rows: step < 20)
    assert result.steps == 20 and torch.equal(result.snapshots.steps, torch.tensor([0, 4, 8, 12, 16]))


@pytest.mark.parametrize("off", [0, None])
def test_off_by_default(model: nn.Module, digits: tuple[Tensor, Tensor], off: int | None) -> None:
    x, y = digits
    parts: list[alma.Trace] = []
    result = alma.attack(model, x[:2], y[:2], num_steps=12, snapshot_every=off, on_step=lambda s, r: parts.append(r))
    assert result.snapshots is None and result.trace.snapshots is None
    assert all(p.snapshots is None for p in parts) and concat(parts).snapshots is None
    assert result.config["snapshot_every"] == 0


def test_memory_budget_raises_the_interval(model: nn.Module, digits: tuple[Tensor, Tensor]) -> None:
    x, y = digits
    per_snapshot = x.numel() * 2  # float16
    budget = 10 * per_snapshot + 1  # room for 10 snapshots of the batch: K = ⌈60 / 10⌉ = 6
    with pytest.warns(UserWarning, match="snapshot_every raised from 1 to 6"):
        result = alma.attack(model, x, y, num_steps=NUM_STEPS, snapshot_every=1, snapshot_budget_bytes=budget)
    assert result.config["snapshot_every"] == 6 and len(result.snapshots) == 10
    assert result.snapshots.images.numel() * 2 <= budget
    with pytest.warns(UserWarning, match="snapshots are off"):
        result = alma.attack(model, x, y, num_steps=5, snapshot_every=1, snapshot_budget_bytes=per_snapshot - 1)
    assert result.snapshots is None and result.config["snapshot_every"] == 0


def test_budget_that_fits_does_not_warn(model: nn.Module, digits: tuple[Tensor, Tensor]) -> None:
    x, y = digits
    budget = math.ceil(NUM_STEPS / 3) * x.numel() * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = alma.attack(model, x, y, num_steps=NUM_STEPS, snapshot_every=3, snapshot_budget_bytes=budget)
    assert result.config["snapshot_every"] == 3 and len(result.snapshots) == NUM_STEPS // 3

