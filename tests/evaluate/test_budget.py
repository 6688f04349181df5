"""The query budget: per-sample counts equal the known costs, the budget stops an attack, and the best distance at any
query is that of the closest adversarial the attack asked the model about."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from alma.compare import AttackSpec, run_attack
from alma.models import load_model
from alma.samples import draw_digit
from tests.baselines.conftest import hooks


@pytest.fixture(scope="module")
def model():
    return load_model("mnist-smallcnn")


@pytest.fixture(scope="module")
def digits(model):
    x = torch.stack([draw_digit(d)[:1] for d in (0, 1, 3)])
    with torch.no_grad():
        return x, model(x).argmax(1)


def test_alma_n_steps_cost_n_forwards_and_n_backwards(model, digits) -> None:
    x, y = digits
    run = run_attack(model, x, y, "alma-l2", 7, query_budget=2000)
    assert run.sample_forwards.tolist() == [7, 7, 7] and run.sample_backwards.tolist() == [7, 7, 7]
    assert (run.forwards, run.backwards) == (7, 7) and not run.stopped
    assert (run.best.numpy() <= run.distances.numpy() * (1 + 1e-5)).all()
    assert (run.queries[0].best.numpy() <= run.distances.numpy() * (1 + 1e-5)).all(), "ALMA returns a query"


def test_the_budget_stops_an_attack(model, digits) -> None:
    x, y = digits
    run = run_attack(model, x, y, "alma-l2", 50, query_budget=20)
    assert run.stopped and run.sample_forwards.tolist() == [10] * 3 and run.sample_backwards.tolist() == [10] * 3
    log = run.queries[0]
    torch.testing.assert_close(run.adv_inputs, log.best_inputs)
    assert torch.equal(run.distances[run.success], log.best[run.success])
    assert hooks(model) == 0


def test_an_endless_attack_ends_at_the_budget(model, digits) -> None:
    x, y = digits

    def endless(model, inputs, labels, budget):
        while True:
            model(inputs[1:])  # a subset: rows are matched to their samples

    run = run_attack(model, x, y, AttackSpec("endless", "Endless", "l2", endless, "N"), 1, query_budget=5)
    assert run.stopped and run.sample_forwards.tolist() == [0, 5, 5] and run.sample_backwards.tolist() == [0, 0, 0]
    assert hooks(model) == 0


def test_best_at_any_query_is_the_closest_adversarial_query(model, digits) -> None:
    """Queries on the way from another digit back to each image; the attack returns the clean image (no success)."""
    x, y = digits
    other = x.roll(1, 0)
    steps = (1.0, 0.8, 0.6, 0.4, 0.2)

    def blend(model, inputs, labels, budget):
        for t in steps:
            query = ((1 - t) * inputs + t * other).requires_grad_()
            model(query).sum().backward()
        return inputs

    run = run_attack(model, x, y, AttackSpec("blend", "Blend", "l2", blend, "N"), 1, query_budget=100)
    expected = np.full(3, np.inf)
    with torch.no_grad():
        for t in steps:
            adversarial = (model((1 - t) * x + t * other).argmax(1) != y).numpy()
            distance = (t * (other - x)).flatten(1).norm(dim=1).numpy()
            expected = np.where(adversarial, np.minimum(expected, distance), expected)
    assert np.isfinite(expected).all() and not run.success.any()
    np.testing.assert_allclose(run.best.numpy(), expected, rtol=1e-5)
    assert run.sample_forwards.tolist() == [5] * 3 and run.sample_backwards.tolist() == [5] * 3
    curve = run.best_curve(np.arange(0, 11))
    assert np.isinf(curve[:, :1]).all()  # nothing queried yet
    assert (np.diff(curve, axis=1)[np.isfinite(curve[:, 1:])] <= 0).all(), "the best never gets worse"
    np.testing.assert_allclose(curve[:, -1], expected, rtol=1e-5)
