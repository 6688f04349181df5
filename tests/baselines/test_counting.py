"""count_calls: rows through the model forwards and backwards; hooks removed afterwards, whatever happens."""
from __future__ import annotations

import pytest
import torch

from alma.compare import AttackSpec, count_calls, run_attack

from .conftest import hooks


def test_a_known_loop_is_counted_in_rows(model, digits) -> None:
    x, _ = digits
    delta = torch.zeros_like(x, requires_grad=True)
    with count_calls(model) as counts:
        for _ in range(3):  # 3 forwards + 3 backwards of the whole batch
            torch.autograd.grad(model(x + delta).sum(), delta)
        with torch.no_grad():  # a forward of one row, no graph
            model(x[:1])
        logits = model(x[1:] + delta[1:])  # two rows, two gradients through the same graph
        torch.autograd.grad(logits[:, 0].sum(), delta, retain_graph=True)
        torch.autograd.grad(logits[:, 1].sum(), delta)
        torch.autograd.grad((x + delta).square().sum(), delta)  # the distance alone: not a model backward
    assert counts.forward_rows == 3 * 3 + 1 + 2
    assert counts.backward_rows == 3 * 3 + 2 * 2
    assert hooks(model) == 0


def test_nothing_is_counted_after_the_block(model, digits) -> None:
    x, _ = digits
    delta = torch.zeros_like(x, requires_grad=True)
    with count_calls(model) as counts:
        logits = model(x + delta)
    torch.autograd.grad(logits.sum(), delta)
    model(x)
    assert (counts.forward_rows, counts.backward_rows) == (3, 0)


def test_hooks_are_removed_when_the_attack_raises(model, digits) -> None:
    x, y = digits

    def broken(model, inputs, labels, budget):
        model(inputs)
        raise RuntimeError("the attack broke")

    with pytest.raises(RuntimeError, match="the attack broke"):
        run_attack(model, x, y, AttackSpec("broken", "Broken", "l2", broken, "N"), 3)
    assert hooks(model) == 0


def test_per_sample_counts_are_means_over_the_batch(model, digits) -> None:
    """An attack working on a subset (here one sample of three, twice) costs 2/3 call per sample."""
    x, y = digits

    def subset(model, inputs, labels, budget):
        for _ in range(budget):
            model(inputs[:1])
        return inputs

    run = run_attack(model, x, y, AttackSpec("subset", "Subset", "l2", subset, "N"), 2)
    assert run.forwards == pytest.approx(2 / 3) and run.backwards == 0
