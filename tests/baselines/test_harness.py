"""Every attack through the same harness on the bundled SmallCNN: runs, known costs, success by argmax."""
from __future__ import annotations

import math

import pytest
import torch

from alma import attack
from alma.compare import ATTACKS, AttackSpec, compare, run_attack, samples_frame, summary_frame
from alma.compare.attacks import apgd_search

from .conftest import hooks

N, K = 3, 10  # budget, classes
STEPS = {"alma-l1", "alma-l2", "alma-ciede2000", "alma-lpips", "adv_lib-alma-l1", "adv_lib-alma-l2", "ddn", "fmn-l1",
         "fmn-l2"}
EXACT = {**{name: (N, N) for name in STEPS},  # one forward and one backward per step
         "fab-l1": (2 * N + 1, (K - 1) * N), "fab-l2": (2 * N + 1, (K - 1) * N),  # + the clean forward
         "perc-al": (2 * N + 1, N),  # clean forward, then per step: one with gradient, one on the rounded image
         "cw-ciede2000": (5, 5), "cw-lpips": (5, 5)}  # 5 searches of max(1, N // 5) iterations


@pytest.fixture(scope="module")
def runs(model, digits):
    pytest.importorskip("adv_lib")
    x, y = digits
    return {run.attack: run for run in compare(model, x, y, ATTACKS, budgets=(N,))}


def test_every_attack_runs_and_leaves_no_hook(runs, model, digits) -> None:
    x, _ = digits
    assert set(runs) == set(ATTACKS)
    for run in runs.values():
        assert run.adv_inputs.shape == x.shape and run.distances.shape == (len(x),)
        assert run.adv_inputs.min() >= 0 and run.adv_inputs.max() <= 1
        assert run.seconds > 0
    assert hooks(model) == 0


@pytest.mark.parametrize("name", sorted(EXACT))
def test_counts_equal_the_known_costs(runs, name: str) -> None:
    assert (runs[name].forwards, runs[name].backwards) == EXACT[name]


def test_carlini_wagner_costs(runs) -> None:
    """9 × 10N iterations at most; an early abort costs a forward without its backward, at most once a search step."""
    run = runs["cw-l2"]
    assert run.backwards <= run.forwards <= run.backwards + 9
    assert 9 * (10 * N // 10 + 1) <= run.forwards <= 9 * 10 * N


def test_apgd_costs(runs, digits) -> None:
    """Each binary-search step: one forward to rank the targets and one to check; every APGD forward has its
    backward, N + 1 per target attacked."""
    run = runs["apgd-t-l2"]
    _, steps = apgd_search(digits[0])
    assert run.forwards - run.backwards == pytest.approx(2 * steps)
    assert steps * (N + 1) <= run.backwards <= steps * (K - 1) * (N + 1)


def test_ours_counts_match_the_attack_result(model, digits) -> None:
    x, y = digits
    result = attack(model, x, y, distance="l2", num_steps=7, record=False)
    run = run_attack(model, x, y, "alma-l2", 7, batch_size=2)
    assert run.forwards == result.num_forwards.float().mean() == 7
    assert run.backwards == result.num_backwards.float().mean() == 7
    torch.testing.assert_close(run.adv_inputs, result.adv_inputs)


def test_success_is_the_models_argmax(model, digits) -> None:
    """An attack that returns the inputs fails, whatever it claims; one that returns another digit succeeds at the
    distance between the two images."""
    x, y = digits
    unchanged = run_attack(model, x, y, AttackSpec("same", "Same", "l2", lambda m, i, lab, b: i.clone(), "N"), 1)
    assert not unchanged.success.any() and torch.isinf(unchanged.distances).all() and unchanged.asr == 0
    assert math.isinf(unchanged.median)
    rolled = run_attack(model, x, y, AttackSpec("roll", "Roll", "l1", lambda m, i, lab, b: i.roll(1, 0), "N"), 1)
    assert rolled.success.all() and rolled.asr == 1
    torch.testing.assert_close(rolled.distances, (x.roll(1, 0) - x).flatten(1).norm(p=1, dim=1))


def test_frames(runs) -> None:
    chosen = [runs["ddn"], runs["fmn-l1"]]
    summary = summary_frame(chosen)
    expected = [["ddn", "l2", N, 3], ["fmn-l1", "l1", N, 3]]
    assert summary[["attack", "distance", "budget", "n"]].values.tolist() == expected
    samples = samples_frame(chosen)
    assert len(samples) == 6 and samples["sample"].tolist() == [0, 1, 2] * 2
    assert (samples["value"] == torch.cat([r.distances for r in chosen]).double().numpy()).all()


def test_unknown_attack_and_bad_budget(model, digits) -> None:
    x, y = digits
    with pytest.raises(ValueError, match="unknown attack"):
        run_attack(model, x, y, "pgd", 3)
    with pytest.raises(ValueError, match="budget"):
        run_attack(model, x, y, "ddn", 0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_counts_on_the_gpu(model, digits) -> None:
    x, y = digits
    gpu = type(model)().cuda().eval().requires_grad_(False)
    gpu.load_state_dict(model.state_dict())
    for name in ("alma-l2", "ddn", "fab-l2"):
        run = run_attack(gpu, x.cuda(), y.cuda(), name, N)
        assert (run.forwards, run.backwards) == EXACT[name] and run.adv_inputs.device.type == "cpu"
    assert hooks(gpu) == 0
