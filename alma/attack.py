"""ALMA: Augmented Lagrangian Method for Adversarial attacks (Rony et al., ICCV 2021, Algorithm 2).

One loop, batched over samples, with every per-sample quantity (μ, ρ, η, best distance) a tensor. Besides Algorithm 2
it does what the reference implementation does (see the docstring of `attack`), and records a per-step trace in a
device buffer without synchronising with the host.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from . import distances, penalties
from .constraints import make_constraint
from .lr import decayed_lr, search_initial_lr
from .optim import make_optimizer
from .trace import Recorder, Trace, concat

OnStep = Callable[[int, Trace], bool | None]


@dataclass
class AttackResult:
    """adv_inputs: the adversarial with the smallest distance, or the clean input where the attack failed;
    distances: D(adv_inputs, inputs), inf where it failed; num_forwards / num_backwards: model calls per sample;
    lr_search_distance_evals: distance evaluations spent by the initial learning-rate search (no model calls);
    steps: steps run (fewer than num_steps when `on_step` stopped the attack); config: the resolved settings."""

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


def attack(model: nn.Module, inputs: Tensor, labels: Tensor, *, distance: str | distances.Distance = "l2",
           targeted: bool = False, num_steps: int = 1000, alpha: float | None = None,
           init_lr_distance: float | None = None, penalty: str | penalties.Penalty = "P2", mu_init: float = 1.0,
           rho_init: float = 1.0, mu_min: float = 1e-6, mu_max: float = 1e12, gamma: float = 1.2, tau: float = 0.95,
           check_steps: int = 10, lr_reduction: float = 0.01, optimizer: str = "rmsprop",
           alpha_rms: float | None = None, momentum: float | None = None, rms_init: float = 1.0,
           lr_decay: bool = True, lr_search: bool = True, lr_init: float = 0.1, constraint: str = "dlr",
           logit_tolerance: float = 1e-4, levels: int | None = None, seed: int | None = None, record: bool = True,
           on_step: OnStep | None = None, every: int = 10) -> AttackResult:
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
    with host copies of the new trace rows; returning False stops the attack with the best result so far.

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
    dist, pen = distances.get(distance), penalties.get(penalty)
    eps = dist.eps_for(inputs) if init_lr_distance is None else float(init_lr_distance)
    config = dict(distance=dist.name, targeted=targeted, num_steps=num_steps, alpha=alpha, init_lr_distance=eps,
                  penalty=pen.name, mu_init=mu_init, rho_init=rho_init, mu_min=mu_min, mu_max=mu_max, gamma=gamma,
                  tau=tau, check_steps=check_steps, lr_reduction=lr_reduction, optimizer=optimizer,
                  alpha_rms=alpha_rms, momentum=momentum, rms_init=rms_init, lr_decay=lr_decay,
                  lr_search=lr_search, lr_init=lr_init, constraint=constraint, logit_tolerance=logit_tolerance,
                  levels=levels, seed=seed)

    batch, device, dtype = len(inputs), inputs.device, inputs.dtype
    view = (-1,) + (1,) * (inputs.ndim - 1)
    dist_fn = dist.build(inputs)
    opt = make_optimizer(optimizer, inputs, alpha_rms, momentum, rms_init)
    generator = torch.Generator(device).manual_seed(seed) if seed is not None else None

    delta = torch.zeros_like(inputs, requires_grad=True)
    mu = torch.full((batch,), mu_init, device=device, dtype=dtype)
    rho = torch.full((batch,), rho_init, device=device, dtype=dtype)
    lr = torch.full((batch,), lr_init, device=device, dtype=dtype)
    lr_failed = torch.zeros(batch, device=device, dtype=torch.bool)
    best_dist = torch.full((batch,), float("inf"), device=device, dtype=dtype)
    best_adv = inputs.clone()
    adv_found = torch.zeros(batch, device=device, dtype=torch.bool)
    first_adv = torch.full((batch,), num_steps + 1, device=device, dtype=dtype)  # s; N + 1 until found
    recorder = Recorder(num_steps, batch, device, dtype) if record or on_step else None
    parts: list[Trace] = []
    search_evals, steps, stopped = 0, num_steps, False

    def deliver(stop: int) -> bool:
        part = recorder.rows(stop, lr, lr_failed)
        if record:
            parts.append(part)
        return on_step is None or on_step(stop, part) is not False

    for i in range(num_steps):
        adv = inputs + delta
        logits = model(adv)
        d = dist_fn(adv)
        if i == 0:
            constraint_fn = make_constraint(constraint, logits.detach(), labels, targeted, logit_tolerance)
        c = constraint_fn(logits)
        c_ = c.detach()

        if i == 0:
            previous_c = c_
        elif (i + 1) % check_steps == 0:  # ρ ← γρ unless adversarial so far or c improved by τ in M steps
            rho = torch.where(adv_found | (c_ < tau * previous_c), rho, gamma * rho)
            previous_c = c_
        if i:  # μ ← clamp(α μ + (1 − α) P'(c, ρ, μ))
            mu = torch.lerp(mu, pen.derivative(c_, rho, mu), 1 - alpha).clamp_(min=mu_min, max=mu_max)

        is_adv = c_ < 0
        is_better = is_adv & (d.detach() < best_dist)
        first_adv.masked_fill_(~adv_found & is_adv, i)
        adv_found.logical_or_(is_adv)
        best_dist = torch.where(is_better, d.detach(), best_dist)
        best_adv = torch.where(is_better.view(view), adv.detach(), best_adv)

        loss = pen.value(c, rho, mu) if i == 0 else d + pen.value(c, rho, mu)
        grad = torch.autograd.grad(loss.sum(), delta)[0]
        grad_norm = grad.flatten(1).norm(dim=1) if recorder or (i == 0 and lr_search) else None
        if i == 0 and lr_search:
            grad = torch.where((grad_norm <= 1e-6).view(view), _random_unit(grad, generator), grad)
            search = search_initial_lr(inputs, grad, dist_fn, eps, fallback=lr_init)
            lr, lr_failed, search_evals = search.lr, search.failed, search.distance_evals

        step_lr = decayed_lr(lr, i, first_adv, num_steps, lr_reduction) if lr_decay else lr
        delta.data.addcmul_(opt.direction(grad), step_lr.view(view), value=-1)
        delta.data.add_(inputs).clamp_(min=0, max=1)
        if levels is not None:
            delta.data.mul_(levels - 1).round_().div_(levels - 1)
        delta.data.sub_(inputs)

        if recorder is not None:
            recorder.record(i, d.detach(), c_, mu, rho, step_lr, grad_norm)
            if on_step is not None and (i + 1) % every == 0 and not deliver(i + 1):
                steps, stopped = i + 1, True
                break

    if recorder is not None and recorder.delivered < steps:
        deliver(steps)
    calls = torch.full((batch,), steps, dtype=torch.long)
    return AttackResult(adv_inputs=best_adv, success=adv_found, distances=best_dist, num_forwards=calls,
                        num_backwards=calls.clone(), lr_search_distance_evals=search_evals, steps=steps,
                        stopped=stopped, trace=concat(parts) if record else None, config=config)


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
