"""ALMA: Augmented Lagrangian Method for Adversarial attacks (Rony et al., ICCV 2021, Algorithm 2).

One loop, batched over samples, with every per-sample quantity (μ, ρ, η, best distance) a tensor. Besides Algorithm 2
it does what the reference implementation does (see the docstring of `attack`). The state lives on the device in
preallocated buffers that every step updates in place, without host synchronisation: the per-sample quantities are
the columns of one row [B, 15] (recorded per step by a single copy), and the gradient of the penalty term reaches the
logits in closed form (∂P/∂c · ∂c/∂z) rather than through autograd (and ∇D too for ℓ2). A step is therefore a fixed
sequence of kernels, about 40 besides the model's forward and backward (tests/core/test_loop.py counts them), that a
CUDA graph can capture and replay (`cuda_graph=True`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from . import distances, penalties
from . import snapshots as snaps
from .constraints import CONSTRAINTS, ConstraintKernel
from .distances.lp import L2
from .lr import DecaySchedule, LrSearch, search_initial_lr
from .optim import make_optimizer
from .snapshots import SnapshotRecorder, Snapshots
from .trace import Recorder, Trace

OnStep = Callable[[int, Trace], bool | None]

# Columns of the per-sample row: 1 to 7 are the recorded quantities (`trace.RECORDED`); the constants around them let
# single comparisons of strided views answer two questions each: [D, c] < [best, 0] (closer than the best, and
# adversarial) and [best, BIG] < [INF, best] (adversarial so far, and not), BIG being the largest finite value.
_INF, _D, _C, _MU, _RHO, _LR, _GRAD_NORM, _BEST, _ZERO = range(9)
_BIG = 2 * _BEST
_WIDTH = _BIG + 1


@dataclass
class AttackResult:
    """adv_inputs: the adversarial with the smallest distance, or the clean input where the attack failed;
    distances: D(adv_inputs, inputs), inf where it failed; num_forwards / num_backwards: model calls per sample;
    lr_search_distance_evals: distance evaluations spent by the initial learning-rate search (no model calls);
    steps: steps run (fewer than num_steps when `on_step` stopped the attack); config: the resolved settings;
    snapshots: the iterates kept every `snapshot_every` steps (None when off)."""

    adv_inputs: Tensor
    success: Tensor
    distances: Tensor
    num_forwards: Tensor
    num_backwards: Tensor
    lr_search_distance_evals: int
    steps: int
    stopped: bool
    trace: Trace | None
    config: dict[str, Any]
    snapshots: Snapshots | None = None


GRAD_LIMIT = 1e15
"""Largest gradient entry used: its square, and the norm of an image of up to 10⁸ values, stay finite in float32."""


def attack(model: nn.Module, inputs: Tensor, labels: Tensor, *, distance: str | distances.Distance = "l2",
           targeted: bool = False, num_steps: int = 1000, alpha: float | None = None,
           init_lr_distance: float | None = None, penalty: str | penalties.Penalty = "P2", mu_init: float = 1.0,
           rho_init: float = 1.0, mu_min: float = 1e-6, mu_max: float = 1e12, gamma: float = 1.2, tau: float = 0.95,
           check_steps: int = 10, lr_reduction: float = 0.01, optimizer: str = "rmsprop",
           alpha_rms: float | None = None, momentum: float | None = None, rms_init: float = 1.0,
           lr_decay: bool = True, lr_search: bool = True, lr_init: float = 0.1, constraint: str = "dlr",
           logit_tolerance: float = 1e-4, levels: int | None = None, seed: int | None = None, record: bool = True,
           on_step: OnStep | None = None, every: int = 10, snapshot_every: int | None = None,
           snapshot_budget_bytes: int = snaps.DEFAULT_BUDGET_BYTES, cuda_graph: bool = False) -> AttackResult:
    """Find, for each sample, an adversarial x̃ ∈ [0, 1]^d that minimises D(x̃, x).

    model: f, takes inputs in [0, 1] and returns logits (put it in eval mode). labels: y, the true labels, or the
    target labels when `targeted`. distance: D, a name of `alma.distances.available()` or a `Distance`.
    num_steps: N (= forwards = backwards per sample). alpha: α, the EMA coefficient of μ (None: 0.5 if N ≤ 100 else
    0.9, as in the paper; 0 disables the EMA). init_lr_distance: ε, the increase of D after the first step (None:
    the distance's default). penalty: P, a name of `alma.penalties.PENALTIES` or a `Penalty`. mu_init, rho_init:
    μ⁽⁰⁾, ρ⁽⁰⁾; mu_min, mu_max: μ_min, μ_max. gamma: γ, the increase factor of ρ; tau: τ, the required constraint
    improvement; check_steps: M, steps between ρ checks. lr_reduction: final η as a fraction of η⁽⁰⁾.
    optimizer: "rmsprop" (paper) or "sgd". alpha_rms, momentum: RMSProp's smoothing and momentum (None: α, as in the
    reference; for "sgd" momentum None means 0). rms_init: v₀, the initial average of squared gradients (paper: 1;
    0 is the usual RMSProp). lr_decay: decay η after the first adversarial (else constant).
    lr_search: find η⁽⁰⁾ per sample from ε (else η⁽⁰⁾ = lr_init, also the fallback of a capped search).
    constraint: "dlr" (paper) or "logit_diff"; logit_tolerance: κ, see `alma.constraints`. levels: quantise x̃ to
    this many levels after each step. seed: seeds the random directions given to samples with a zero gradient.
    record: keep the per-step trace. on_step(step, trace_rows): called every `every` steps (and once at the end)
    with host copies of the new trace rows (and of the snapshots taken within them); returning False stops the
    attack with the best result so far.
    snapshot_every: K, keep the iterate x̃⁽ᵏ⁾ (before the update of step k, the input of trace row k) every K steps,
    as float16 on the CPU (`alma.snapshots.Snapshots`, in `result.snapshots` and in each `on_step` part); 0 or None:
    none. snapshot_budget_bytes: K is raised (with a warning) so that the snapshots fit in this many bytes; the K
    used is `result.config["snapshot_every"]` (0 when not even one snapshot fits).
    cuda_graph: on CUDA, capture a step in a CUDA graph (one per variant: with and without the ρ check) after two
    eager warm-up steps, and replay it: one launch per step instead of one per kernel, which matters at small
    batches. The model and the distance must be capturable (no host synchronisation, no data-dependent control
    flow). Ignored on the CPU.

    As in the reference implementation: step 0 minimises the penalty alone and η⁽⁰⁾ comes from its gradient; μ is
    updated from step 1 on with the closed-form P'; ρ is checked every M steps against the constraint M steps
    earlier and frozen once the sample has been adversarial; η stays constant until the first adversarial step s,
    then decays as η⁽⁰⁾·lr_reduction^((i − s)/(N − s)); x̃ is clamped to [0, 1] after each step; the best adversarial
    is recorded before each update.
    """
    alpha = (0.5 if num_steps <= 100 else 0.9) if alpha is None else alpha
    alpha_rms = alpha if alpha_rms is None else alpha_rms
    momentum = (alpha if optimizer == "rmsprop" else 0.0) if momentum is None else momentum
    _validate(inputs, labels, num_steps=num_steps, alpha=alpha, alpha_rms=alpha_rms, momentum=momentum,
              mu_init=mu_init, rho_init=rho_init, mu_min=mu_min, mu_max=mu_max, gamma=gamma, tau=tau,
              check_steps=check_steps, lr_reduction=lr_reduction, lr_init=lr_init, levels=levels, every=every,
              rms_init=rms_init)
    if constraint not in CONSTRAINTS:
        raise ValueError(f"unknown constraint {constraint!r}; available: {', '.join(CONSTRAINTS)}")
    dist, pen = distances.get(distance), penalties.get(penalty)
    eps = dist.eps_for(inputs) if init_lr_distance is None else float(init_lr_distance)
    snapshot_every = snaps.resolve_every(snapshot_every, num_steps, inputs, snapshot_budget_bytes)
    config = dict(distance=dist.name, targeted=targeted, num_steps=num_steps, alpha=alpha, init_lr_distance=eps,
                  penalty=pen.name, mu_init=mu_init, rho_init=rho_init, mu_min=mu_min, mu_max=mu_max, gamma=gamma,
                  tau=tau, check_steps=check_steps, lr_reduction=lr_reduction, optimizer=optimizer,
                  alpha_rms=alpha_rms, momentum=momentum, rms_init=rms_init, lr_decay=lr_decay,
                  lr_search=lr_search, lr_init=lr_init, constraint=constraint, logit_tolerance=logit_tolerance,
                  levels=levels, seed=seed, snapshot_every=snapshot_every, cuda_graph=cuda_graph)

    loop = _Loop(model, inputs, labels, dist, pen, config, measure_grad_norm=record or on_step is not None)
    recorder = Recorder(num_steps, loop.recorded) if record or on_step else None
    snapshots = SnapshotRecorder(snapshot_every, num_steps, inputs) if snapshot_every else None
    step = _Graphs(loop.step) if cuda_graph and inputs.is_cuda else loop.step
    steps, stopped = num_steps, False

    def deliver(stop: int) -> bool:
        part = recorder.rows(stop, snapshots.rows(stop) if snapshots else None)
        return on_step is None or on_step(stop, part) is not False

    for i in range(num_steps):
        if snapshots is not None:
            snapshots.take(i, loop.iterate)
        if i == 0:
            loop.first_step()
        else:
            step((i + 1) % check_steps == 0)  # with the ρ check every M steps
        if recorder is not None:
            if i == 0:
                recorder.set_lr_init(loop.lr_init.view(-1), loop.lr_search.failed)
            recorder.record(i)
            if on_step is not None and (i + 1) % every == 0 and not deliver(i + 1):
                steps, stopped = i + 1, True
                break

    if on_step is not None and recorder.delivered < steps:
        deliver(steps)
    kept = snapshots.span(0, steps) if snapshots else None
    calls = torch.full((len(inputs),), steps, dtype=torch.long)
    return AttackResult(adv_inputs=loop.best_adv, success=torch.isfinite(loop.best.view(-1)),
                        distances=loop.best.view(-1).clone(), num_forwards=calls, num_backwards=calls.clone(),
                        lr_search_distance_evals=loop.lr_search.distance_evals, steps=steps, stopped=stopped,
                        trace=recorder.trace(steps, kept) if record else None, config=config, snapshots=kept)


class _Loop:
    """The attack's state, in preallocated device buffers, and its steps, which update it in place."""

    def __init__(self, model: nn.Module, inputs: Tensor, labels: Tensor, dist: distances.Distance,
                 pen: penalties.Penalty, config: dict[str, Any], measure_grad_norm: bool) -> None:
        self.model, self.inputs, self.labels, self.penalty, self.config = model, inputs, labels, pen, config
        self.measure_grad_norm = measure_grad_norm
        batch, device, dtype = len(inputs), inputs.device, inputs.dtype
        self.dims = tuple(range(1, inputs.ndim))

        def image(column: Tensor) -> Tensor:  # a [B, 1] column as [B, 1, …, 1], broadcasting over images
            return column[(...,) + (None,) * (inputs.ndim - 2)]

        # the per-sample row and its columns (views: no kernel)
        self.row = torch.zeros(batch, _WIDTH, device=device, dtype=dtype)
        self.recorded = self.row[:, _D:_ZERO]
        (self.distance, self.c, self.mu, self.rho, self.lr, self.grad_norm,
         self.best) = (self.row[:, k:k + 1] for k in range(_D, _ZERO))
        self.row[:, _INF] = self.row[:, _BEST] = float("inf")
        self.row[:, _BIG] = torch.finfo(dtype).max
        self.mu.fill_(config["mu_init"])
        self.rho.fill_(config["rho_init"])
        self.distance_and_c, self.best_and_zero = self.row[:, _D:_C + 1], self.row[:, _BEST:_ZERO + 1]
        self.best_and_big, self.inf_and_best = self.row[:, _BEST::_BEST], self.row[:, _INF:_BEST + 1:_BEST]
        self.distance_image, self.lr_image, self.grad_norm_image = map(image, (self.distance, self.lr,
                                                                             self.grad_norm))
        self.previous_c, self.prime, self.lr_init = (torch.empty_like(self.c) for _ in range(3))
        self.lr_init.fill_(config["lr_init"])
        self.less = torch.empty(batch, 2, device=device, dtype=torch.bool)
        self.closer, self.adversarial = self.less[:, :1], self.less[:, 1:]
        self.better = torch.empty(batch, 1, device=device, dtype=torch.bool)
        self.found = torch.empty(batch, 2, device=device, dtype=dtype)
        self.better_image = image(self.better)

        # x̃ is the leaf of autograd; `iterate` is the same storage without autograd, for in-place updates
        self.adv = inputs.clone().requires_grad_(True)
        self.iterate = self.adv.detach()
        self.best_adv = inputs.clone()
        self.l2 = dist is L2  # D and ∇D in closed form: D = ‖δ‖₂, ∇D = δ / ‖δ‖₂
        self.distance_fn = dist.build(inputs)
        if self.l2:
            self.delta, self.safe_norm = torch.empty_like(inputs), torch.empty_like(self.distance_image)
            self.tiny = torch.finfo(dtype).tiny  # ∇D = δ / max(‖δ‖, tiny): 0 at δ = 0, as autograd gives
        else:
            self.ones = torch.ones(batch, device=device, dtype=dtype)

        self.parts = pen.parts(self.rho) if pen.parts is not None else None
        self.optimizer = make_optimizer(config["optimizer"], inputs, config["alpha_rms"], config["momentum"],
                                        config["rms_init"])
        self.schedule = DecaySchedule(self.lr_init, config["num_steps"], config["lr_reduction"], self.lr) \
            if config["lr_decay"] else None
        self.constraint: ConstraintKernel | None = None
        self.lr_search = LrSearch(self.lr_init.view(-1), torch.zeros(batch, dtype=torch.bool), distance_evals=0)

    def first_step(self) -> None:
        """Step 0: the penalty alone (no D), μ⁽⁰⁾ as given, then η⁽⁰⁾ from the gradient."""
        cfg = self.config
        logits = self.model(self.adv)
        with torch.no_grad():
            self.constraint = ConstraintKernel(cfg["constraint"], logits, self.labels, cfg["targeted"],
                                               cfg["logit_tolerance"], out=self.c)
            self._measure(None)
            self.constraint(logits)
            self.previous_c.copy_(self.c)
            if self.parts is not None:
                a, b = self.parts(self.c)
                grad_c = torch.addcmul(b, self.mu, a, out=self.prime)
            else:
                grad_c = self.penalty.derivative(self.c, self.rho, self.mu)
            grad_logits = self.constraint.backward(grad_c)
            self._keep_best()
        (grad,) = torch.autograd.grad(logits, self.adv, grad_logits)
        with torch.no_grad():
            torch.linalg.vector_norm(grad, dim=self.dims, keepdim=True, out=self.grad_norm_image)
            if cfg["lr_search"]:
                seed = cfg["seed"]
                generator = torch.Generator(grad.device).manual_seed(seed) if seed is not None else None
                grad = torch.where(self.grad_norm_image <= 1e-6, _random_unit(grad, generator), grad)
                self.lr_search = search_initial_lr(self.inputs, grad, self.distance_fn, cfg["init_lr_distance"],
                                                   fallback=cfg["lr_init"])
                self.lr_init.copy_(self.lr_search.lr.view(-1, 1))
            if self.schedule is None:
                self.lr.copy_(self.lr_init)
            self._descend(grad)

    def step(self, check_rho: bool) -> None:
        """Steps 1 to N − 1 (`check_rho`: this step checks ρ). A fixed sequence of in-place kernels."""
        logits = self.model(self.adv)
        d = None if self.l2 else self.distance_fn(self.adv)
        with torch.no_grad():
            self._measure(d)
            self.constraint(logits)
            if check_rho:
                self._check_rho()
            grad_c = self._update_mu()
            grad_logits = self.constraint.backward(grad_c)  # ∂P/∂z = ∂P/∂c · ∂c/∂z
            self._keep_best()
        if self.l2:
            (grad,) = torch.autograd.grad(logits, self.adv, grad_logits)
            torch.clamp(self.distance_image, min=self.tiny, out=self.safe_norm)
            grad.addcdiv_(self.delta, self.safe_norm)
        else:
            (grad,) = torch.autograd.grad((logits, d), self.adv, (grad_logits, self.ones))
        # An overflowing penalty (exponential, large ρ, a near-flat DLR) can give inf or NaN entries: keep the step
        # finite (the direction survives; RMSProp and the [0, 1] box bound the move), never a NaN iterate.
        torch.nan_to_num_(grad, nan=0.0, posinf=GRAD_LIMIT, neginf=-GRAD_LIMIT).clamp_(-GRAD_LIMIT, GRAD_LIMIT)
        if self.measure_grad_norm:
            torch.linalg.vector_norm(grad, dim=self.dims, keepdim=True, out=self.grad_norm_image)
        self._descend(grad)  # nothing from here on needs autograd: no tensor in it requires a gradient

    def _measure(self, d: Tensor | None) -> None:
        """D(x̃, x) into its column."""
        if self.l2:
            torch.sub(self.iterate, self.inputs, out=self.delta)
            torch.linalg.vector_norm(self.delta, dim=self.dims, keepdim=True, out=self.distance_image)
        else:
            self.distance.view(-1).copy_(self.distance_fn(self.iterate) if d is None else d)

    def _check_rho(self) -> None:
        """ρ ← γρ unless the sample has been adversarial or c improved by τ in M steps."""
        grow = torch.ge(self.c, self.previous_c * self.config["tau"])
        grow.logical_and_(torch.isinf(self.best))
        torch.where(grow, self.rho * self.config["gamma"], self.rho, out=self.rho)
        self.previous_c.copy_(self.c)
        if self.parts is not None:
            self.parts.set_rho(self.rho)

    def _update_mu(self) -> Tensor:
        """μ ← clamp(α μ + (1 − α) P'(c, ρ, μ)); returns ∂P/∂c = P'(c, ρ, μ) at the new μ, as the loss uses it."""
        cfg, weight = self.config, 1 - self.config["alpha"]
        if self.parts is None:
            self.mu.lerp_(self.penalty.derivative(self.c, self.rho, self.mu), weight)
            self.mu.clamp_(min=cfg["mu_min"], max=cfg["mu_max"])
            return self.penalty.derivative(self.c, self.rho, self.mu)
        a, b = self.parts(self.c)  # P' = μ·A + B
        self.mu.lerp_(torch.addcmul(b, self.mu, a, out=self.prime), weight).clamp_(min=cfg["mu_min"],
                                                                                     max=cfg["mu_max"])
        return torch.addcmul(b, self.mu, a, out=self.prime)

    def _keep_best(self) -> None:
        """Keep x̃ where it is adversarial and closer than the best so far: [D, c] < [best, 0] in one comparison."""
        torch.lt(self.distance_and_c, self.best_and_zero, out=self.less)
        torch.logical_and(self.closer, self.adversarial, out=self.better)
        torch.where(self.better, self.distance, self.best, out=self.best)
        torch.where(self.better_image, self.iterate, self.best_adv, out=self.best_adv)

    def _descend(self, grad: Tensor) -> None:
        """x̃ ← clip(x̃ − η·direction(∇L)) (quantised if asked), then advance the learning-rate schedule."""
        if self.schedule is not None:
            self.schedule()
        self.iterate.addcmul_(self.optimizer.direction(grad), self.lr_image, value=-1).clamp_(min=0, max=1)
        levels = self.config["levels"]
        if levels is not None:
            self.iterate.mul_(levels - 1).round_().div_(levels - 1)
        if self.schedule is not None:
            torch.lt(self.best_and_big, self.inf_and_best, out=self.found)  # (found so far, not found)
            self.schedule.advance(self.found)


class _Graphs:
    """A step replayed from CUDA graphs, one per variant, each captured after `WARMUP` eager runs (on a side
    stream, as capture requires). All graphs share one memory pool: a step leaves nothing alive but the loop's
    buffers, so a replay never needs what another graph's replay left."""

    WARMUP = 2

    def __init__(self, step: Callable[[bool], None]) -> None:
        self.step = step
        self.graphs: dict[bool, torch.cuda.CUDAGraph] = {}
        self.runs = {False: 0, True: 0}
        self.pool = torch.cuda.graph_pool_handle()

    def __call__(self, variant: bool) -> None:
        graph = self.graphs.get(variant)
        if graph is None:
            if self.runs[variant] < self.WARMUP:
                self.runs[variant] += 1
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    self.step(variant)
                torch.cuda.current_stream().wait_stream(side)
                return
            graph = self.graphs[variant] = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self.pool):
                self.step(variant)
        graph.replay()


def _random_unit(like: Tensor, generator: torch.Generator | None) -> Tensor:
    """Random directions of unit ℓ2 norm per sample."""
    noise = torch.randn(like.shape, generator=generator, device=like.device, dtype=like.dtype)
    return noise.renorm(p=2, dim=0, maxnorm=1)


def _validate(inputs: Tensor, labels: Tensor, **settings: Any) -> None:
    if not inputs.is_floating_point() or inputs.ndim < 2:
        raise ValueError(f"inputs must be a floating-point batch [B, ...], got {inputs.dtype} {tuple(inputs.shape)}")
    if labels.shape != inputs.shape[:1] or labels.dtype != torch.long:
        raise ValueError(f"labels must be a long tensor of shape [{len(inputs)}], got {labels.dtype} "
                         f"{tuple(labels.shape)}")
    if inputs.numel() and (inputs.min() < 0 or inputs.max() > 1):
        raise ValueError("inputs must lie in [0, 1] (the model normalises them itself)")
    s = settings
    rules = [
        (s["num_steps"] >= 1 and s["check_steps"] >= 1 and s["every"] >= 1, "num_steps, check_steps and every ≥ 1"),
        (all(0 <= s[k] <= 1 for k in ("alpha", "alpha_rms", "momentum", "tau")),
         "alpha, alpha_rms, momentum and tau in [0, 1]"),
        (0 < s["mu_min"] <= s["mu_init"] <= s["mu_max"], "0 < mu_min ≤ mu_init ≤ mu_max"),
        (s["rho_init"] > 0 and s["gamma"] >= 1, "rho_init > 0 and gamma ≥ 1"),
        (0 < s["lr_reduction"] <= 1 and s["lr_init"] > 0, "0 < lr_reduction ≤ 1 and lr_init > 0"),
        (s["levels"] is None or s["levels"] >= 2, "levels ≥ 2 (or None)"),
        (s["rms_init"] >= 0, "rms_init ≥ 0"),
    ]
    for ok, rule in rules:
        if not ok:
            raise ValueError(f"invalid settings: need {rule}")
