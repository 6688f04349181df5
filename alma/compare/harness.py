"""Run attacks on the same model and inputs, and measure every one the same way.

`run_attack` counts the model's forwards and backwards with hooks (see `count_calls`), times the attack, then decides
success by the model's argmax on the returned images (never by the attack's own flag) and computes the distance with
`alma.distances` (+inf where the attack failed). With a `query_budget`, each sample's queries are counted, limited and
recorded by `alma.compare.budget` (AttackBench's protocol), which also gives the best distance at any query.
`compare` does that for several attacks and budgets;
`summary_frame` and `samples_frame` turn the runs into pandas tables.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .. import distances
from .attacks import AttackSpec, get_attack
from .budget import BudgetExhausted, QueryLog, query_budget
from .counting import count_calls
from .curves import median_distance


@dataclass(frozen=True)
class AttackRun:
    """One attack at one budget on a batch. Tensors are on the CPU: adv_inputs [B, C, H, W], success [B] (argmax on
    adv_inputs differs from the label), distances [B] (+inf where it failed). forwards / backwards: model calls per
    sample (rows through the model / B: a mean when an attack works on subsets); seconds: wall time of the attack.
    With a query budget: `queries` (one `QueryLog` per batch), `best` [B] (the closest adversarial at any query,
    the returned one included; +inf if none) and `stopped` (the budget ended the attack in some batch; its result is
    then the best adversarial it queried)."""

    attack: str
    label: str
    distance: str
    budget: int
    adv_inputs: Tensor
    success: Tensor
    distances: Tensor
    forwards: float
    backwards: float
    seconds: float
    queries: list[QueryLog] = field(default_factory=list)
    best: Tensor | None = None
    stopped: bool = False

    @property
    def sample_forwards(self) -> np.ndarray:
        """Forwards within the budget, per sample (needs a query budget)."""
        return np.concatenate([log.forwards for log in self.queries])

    @property
    def sample_backwards(self) -> np.ndarray:
        """Backwards within the budget, per sample (needs a query budget)."""
        return np.concatenate([log.backwards for log in self.queries])

    def best_curve(self, queries: np.ndarray) -> np.ndarray:
        """[B, len(queries)]: the best distance found within each number of queries, per sample (needs a budget)."""
        return np.concatenate([log.best_curve(queries) for log in self.queries])

    @property
    def asr(self) -> float:
        """Attack success rate, in [0, 1]."""
        return float(self.success.float().mean())

    @property
    def median(self) -> float:
        return median_distance(self.distances)

    def summary(self) -> dict[str, object]:
        return {"attack": self.attack, "label": self.label, "distance": self.distance, "budget": self.budget,
                "n": len(self.success), "asr": self.asr, "median": self.median, "forwards": self.forwards,
                "backwards": self.backwards, "seconds": self.seconds}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_attack(model: nn.Module, inputs: Tensor, labels: Tensor, attack: str | AttackSpec, budget: int,
               seed: int | None = 0, batch_size: int | None = None,
               on_forward: Callable[[int], None] | None = None, query_budget: int | None = None) -> AttackRun:
    """Attack `inputs` (on the model's device, in [0, 1]) with `attack` at `budget`, in batches of `batch_size`
    (None: all at once); `seed` seeds the attack's random numbers without touching the global generator.
    `on_forward(rows)`: called after each forward with the rows through the model so far (an exception it raises
    ends the attack). query_budget: forwards + backwards allowed per sample (None: no limit, nothing recorded)."""
    spec = get_attack(attack)
    n = len(inputs)
    if budget < 1 or n == 0:
        raise ValueError(f"need a budget ≥ 1 and at least one input, got budget {budget} and {n} inputs")
    size = batch_size or n
    advs, logs, forward_rows, backward_rows, seconds = [], [], 0, 0, 0.0
    for start in range(0, n, size):
        x, y = inputs[start:start + size], labels[start:start + size]
        with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
            if seed is not None:
                torch.manual_seed(seed)
            _synchronize(x.device)
            began = time.perf_counter()
            done = forward_rows
            hook = (lambda counts: on_forward(done + counts.forward_rows)) if on_forward is not None else None
            recording = _recording(model, x, y, spec.distance, query_budget)
            with count_calls(model, hook) as counts, recording as log:
                try:
                    adv = spec.run(model, x, y, budget).detach()
                except BudgetExhausted:
                    adv = log.best_inputs
            _synchronize(x.device)
            seconds += time.perf_counter() - began
        if adv.shape != x.shape:
            raise ValueError(f"{spec.label} returned shape {tuple(adv.shape)} for inputs {tuple(x.shape)}")
        advs.append(adv)
        if log is not None:
            logs.append(log)
        forward_rows += counts.forward_rows
        backward_rows += counts.backward_rows
    adv = torch.cat(advs)
    with torch.no_grad():
        success = model(adv).argmax(1) != labels
        dist = distances.get(spec.distance).build(inputs)(adv).float()
    dist = dist.masked_fill(~success, float("inf"))
    best = torch.minimum(torch.cat([log.best for log in logs]), dist).cpu() if logs else None
    return AttackRun(attack=spec.name, label=spec.label, distance=spec.distance, budget=budget,
                     adv_inputs=adv.cpu(), success=success.cpu(), distances=dist.cpu(), forwards=forward_rows / n,
                     backwards=backward_rows / n, seconds=seconds, queries=logs, best=best,
                     stopped=any(log.stopped for log in logs))


def _recording(model: nn.Module, inputs: Tensor, labels: Tensor, distance: str, budget: int | None) -> Any:
    """`query_budget`'s context, or one that yields None when there is no budget."""
    return nullcontext() if budget is None else query_budget(model, inputs, labels, distance, budget)


def compare(model: nn.Module, inputs: Tensor, labels: Tensor, attacks: Iterable[str | AttackSpec],
            budgets: Iterable[int] = (100,), seed: int | None = 0, batch_size: int | None = None,
            on_run: Callable[[AttackRun], None] | None = None) -> list[AttackRun]:
    """Every attack at every budget on the same inputs; `on_run` is called after each run (e.g. for progress)."""
    runs, budgets = [], tuple(budgets)
    for spec in map(get_attack, attacks):
        for budget in budgets:
            run = run_attack(model, inputs, labels, spec, budget, seed=seed, batch_size=batch_size)
            runs.append(run)
            if on_run is not None:
                on_run(run)
    return runs


def summary_frame(runs: Iterable[AttackRun]) -> pd.DataFrame:
    """One row per run: attack, label, distance, budget, n, asr, median, forwards, backwards, seconds."""
    return pd.DataFrame([run.summary() for run in runs])


def samples_frame(runs: Iterable[AttackRun]) -> pd.DataFrame:
    """One row per run and sample: attack, label, distance, budget, sample, success, value (+inf where it failed)."""
    frames = [pd.DataFrame({"attack": run.attack, "label": run.label, "distance": run.distance, "budget": run.budget,
                            "sample": range(len(run.success)), "success": run.success.numpy(),
                            "value": run.distances.double().numpy()}) for run in runs]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["attack", "label", "distance", "budget", "sample", "success", "value"])
