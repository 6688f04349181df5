"""The attack's loop: the reference implementation's iterates step by step in several settings, a small number of
operators per step that does not depend on the number of steps, and a step that a CUDA graph can capture (no host
synchronisation, no new state), checked on the CPU."""
from __future__ import annotations

import collections
import importlib

import pytest
import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

import alma

ref = pytest.importorskip("adv_lib.attacks")
penalties = pytest.importorskip("adv_lib.utils.lagrangian_penalties")
attack_module = importlib.import_module("alma.attack")

# (ours, the reference's) settings; with logit_tolerance=0 the targeted constraints agree (see alma.constraints)
SETTINGS = {
    "paper-l2": ({"alpha": 0.9, "init_lr_distance": 0.1}, {"α": 0.9, "init_lr_distance": 0.1}),
    "ema-check-gamma": ({"alpha": 0.5, "mu_init": 2.0, "gamma": 1.5, "check_steps": 3, "init_lr_distance": 0.1},
                        {"α": 0.5, "μ_init": 2.0, "γ": 1.5, "check_steps": 3, "init_lr_distance": 0.1}),
    "targeted": ({"targeted": True, "logit_tolerance": 0.0, "alpha": 0.9, "init_lr_distance": 0.1},
                 {"targeted": True, "logit_tolerance": 0.0, "α": 0.9, "init_lr_distance": 0.1}),
    "l1-rho-tau": ({"distance": "l1", "alpha": 0.7, "rho_init": 2.0, "tau": 0.9, "check_steps": 2,
                    "init_lr_distance": 0.5},
                   {"distance": "l1", "α": 0.7, "ρ_init": 2.0, "τ": 0.9, "check_steps": 2, "init_lr_distance": 0.5}),
    "constant-lr": ({"alpha": 0.9, "lr_search": False, "lr_init": 0.05}, {"α": 0.9, "lr_init": 0.05}),
    "phr": ({"penalty": "PHRQuad", "alpha": 0.9, "init_lr_distance": 0.1},
            {"penalty": penalties.all_penalties["PHRQuad"], "α": 0.9, "init_lr_distance": 0.1}),
}


class Log:
    """Stands in for adv_lib's visdom logger: keeps the per-step values (batch means; here single samples)."""

    def __init__(self) -> None:
        self.lines: dict[str, list[float]] = collections.defaultdict(list)

    def accumulate_line(self, names, step: int, values) -> None:
        names, values = ([names], [values]) if isinstance(names, str) else (names, values)
        for name, value in zip(names, values):
            self.lines[name].append(float(value.detach()))

    def update_lines(self) -> None:
        pass


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_first_steps_are_the_references(smallcnn: nn.Module, mnist_batch: tuple[Tensor, Tensor],
                                            name: str) -> None:
    """Single samples: the reference logs per-sample values; 20 steps agree to float32 rounding (the loop computes
    in closed form and in place what the reference computes with autograd: rounding differs, then grows)."""
    ours_settings, ref_settings = SETTINGS[name]
    steps = 20
    x, y = mnist_batch
    for k in range(3):
        xi, yi = x[k:k + 1], y[k:k + 1]
        if ours_settings.get("targeted"):
            yi = (yi + 1) % 10
        log = Log()
        ref.alma(smallcnn, xi, yi, num_steps=steps, callback=log, **ref_settings)
        t = alma.attack(smallcnn, xi, yi, num_steps=steps, **ours_settings).trace
        distance = ours_settings.get("distance", "l2")
        theirs_best = torch.tensor(log.lines[f"best_{distance}"]).nan_to_num(float("inf"))  # NaN: none found
        assert torch.equal(torch.isinf(t.best_distance[:, 0]), torch.isinf(theirs_best))
        found = torch.isfinite(theirs_best)
        torch.testing.assert_close(t.best_distance[found, 0], theirs_best[found], rtol=1e-4, atol=1e-5)
        pairs = {distance: t.distance, "dlr": t.constraint, "μ_c": t.mu, "ρ_c": t.rho, "lr": t.lr,
                 "grad_norm": t.grad_norm}
        for field, ours in pairs.items():
            torch.testing.assert_close(ours[:, 0], torch.tensor(log.lines[field]), rtol=1e-4, atol=1e-5,
                                       msg=lambda m: f"{name}, {field}, sample {k}: {m}")


def operators_per_step(run, short: int, long: int) -> float:
    """Top-level aten operators (torch profiler) per step of run(num_steps), from two lengths."""
    def count(num_steps: int) -> int:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run(num_steps)
        return sum(1 for e in prof.events() if e.name.startswith("aten::")
                   and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")))

    return (count(long) - count(short)) / (long - short)


def bare_loop(model: nn.Module, x: Tensor, steps: int) -> None:
    """The model's forward and backward and an update: what any gradient attack does."""
    delta = torch.zeros_like(x, requires_grad=True)
    for _ in range(steps):
        (grad,) = torch.autograd.grad(model(x + delta).sum(), delta)
        delta.data.add_(grad, alpha=-1e-3)


def test_operators_per_step_at_batch_one(smallcnn: nn.Module, mnist_batch: tuple[Tensor, Tensor]) -> None:
    """The explorer's case (one image, the trace recorded): at most 40 operators per step on top of the model's
    forward and backward, as many at every step (lengths are multiples of the ρ check interval)."""
    x, y = mnist_batch[0][:1], mnist_batch[1][:1]

    def ours(n: int) -> None:
        alma.attack(smallcnn, x, y, num_steps=n)

    ours(5)  # warm-up
    per_step = [operators_per_step(ours, short, long) for short, long in ((20, 40), (40, 80))]
    bare = operators_per_step(lambda n: bare_loop(smallcnn, x, n), 20, 40)
    assert per_step[0] == per_step[1]
    assert per_step[0] <= bare + 40, (per_step, bare)


SYNCS = {torch.ops.aten._local_scalar_dense.default, torch.ops.aten.item.default,
         torch.ops.aten.is_nonzero.default, torch.ops.aten.nonzero.default, torch.ops.aten.equal.default}


class NoHostSync(TorchDispatchMode):
    """Fails on any operator that brings a tensor's value to the host (what a CUDA graph cannot capture, and what a
    Python branch on a tensor value needs)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in SYNCS:
            raise AssertionError(f"host synchronisation in the step: {func}")
        return func(*args, **(kwargs or {}))


def state(obj: object, prefix: str = "", seen: set[int] | None = None) -> dict[str, tuple[int, int]]:
    """(id, data pointer) of every tensor reachable through the attributes of the loop and of its parts."""
    seen = set() if seen is None else seen
    found = {}
    for name, value in vars(obj).items():
        if isinstance(value, Tensor):
            found[prefix + name] = (id(value), value.data_ptr())
        elif hasattr(value, "__dict__") and not isinstance(value, (nn.Module, type)) and id(value) not in seen:
            seen.add(id(value))
            found.update(state(value, f"{prefix}{name}.", seen))
    return found


@pytest.mark.parametrize("settings", [{}, {"penalty": "PHRQuad", "constraint": "logit_diff", "levels": 256},
                                      {"targeted": True, "optimizer": "sgd", "momentum": 0.5}])
def test_the_step_is_capturable(smallcnn: nn.Module, mnist_batch: tuple[Tensor, Tensor], monkeypatch,
                                settings: dict) -> None:
    """What `cuda_graph=True` captures on CUDA (`_Loop.step`), checked on the CPU: no operator of a step brings a
    value to the host, and a step keeps all its state in the same tensors (no new tensor, no new storage), with
    and without the ρ check; guarded so, the attack gives exactly the same trace."""
    x, y = mnist_batch[0][:4], mnist_batch[1][:4]
    if settings.get("targeted"):
        y = (y + 1) % 10
    step, variants = attack_module._Loop.step, set()

    def guarded(self, check_rho: bool) -> None:
        before = state(self)
        with NoHostSync():
            step(self, check_rho)
        assert state(self) == before
        variants.add(check_rho)

    plain = alma.attack(smallcnn, x, y, num_steps=25, snapshot_every=1, **settings)
    monkeypatch.setattr(attack_module._Loop, "step", guarded)
    checked = alma.attack(smallcnn, x, y, num_steps=25, snapshot_every=1, cuda_graph=True, **settings)
    assert variants == {False, True}
    assert checked.config["cuda_graph"] and plain.trace.num_steps == checked.trace.num_steps
    for field in ("distance", "constraint", "mu", "rho", "lr", "grad_norm", "best_distance"):
        assert torch.equal(getattr(plain.trace, field), getattr(checked.trace, field)), field
    assert torch.equal(plain.adv_inputs, checked.adv_inputs)
    assert torch.equal(plain.snapshots.images, checked.snapshots.images)
