"""A per-sample query budget, as in AttackBench (Cinà, Rony et al., AAAI 2025): count each sample's forwards and
backwards through the model, stop the attack once every sample has spent its budget, and record, for every query, the
distance to the clean input and whether the model's argmax is adversarial, so the best adversarial found at *any*
query is known for every attack, whatever it returns.

A query of the whole batch maps row i to sample i; a query of a subset (attacks that drop finished samples) maps each
row to the nearest clean input. Rows of samples that have spent their budget are neither counted nor recorded; a
query made only of such rows raises `BudgetExhausted`, which `alma.compare.run_attack` catches: the attack is then
represented by the best adversarial it queried.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from .. import distances
from .counting import watch_calls

DEFAULT_BUDGET = 2000
"""AttackBench's budget: 2000 forwards + backwards per sample (1000 steps of a one-forward, one-backward attack)."""

NO_LIMIT = 2 ** 62
"""A budget no attack reaches: every query is counted and recorded, none is refused."""


class BudgetExhausted(RuntimeError):
    """Every sample of the batch has spent its query budget."""


@dataclass
class QueryLog:
    """Per sample i of a batch: forwards[i], backwards[i] (model calls within the budget), best[i] (distance of the
    closest adversarial query, +inf if none) and best_inputs[i] (that query, or the clean input); `events` holds every
    query: (samples, queries spent after it, distance, +inf where not adversarial)."""

    budget: int
    forwards: np.ndarray
    backwards: np.ndarray
    best: Tensor
    best_inputs: Tensor
    events: list[tuple[np.ndarray, np.ndarray, Tensor]] = field(default_factory=list)
    stopped: bool = False

    @property
    def spent(self) -> np.ndarray:
        return self.forwards + self.backwards

    def best_curve(self, queries: np.ndarray) -> np.ndarray:
        """[B, len(queries)]: the best distance found within each number of queries (+inf: no adversarial yet)."""
        queries = np.asarray(queries)
        curve = np.full((len(self.forwards), len(queries)), np.inf)
        if not self.events:
            return curve
        samples = np.concatenate([e[0] for e in self.events])
        spent = np.concatenate([e[1] for e in self.events])
        values = torch.cat([e[2].float().cpu() for e in self.events]).double().numpy()
        for i in range(len(self.forwards)):
            mine = samples == i
            if mine.any():
                best = np.minimum.accumulate(values[mine])
                at = np.searchsorted(spent[mine], queries, side="right") - 1
                curve[i] = np.where(at >= 0, best[np.maximum(at, 0)], np.inf)
        return curve


def _nearest(rows: Tensor, inputs: Tensor) -> np.ndarray:
    if rows.shape[1:] != inputs.shape[1:]:
        raise ValueError(f"the model was queried with shape {tuple(rows.shape[1:])}, not the inputs' "
                         f"{tuple(inputs.shape[1:])}")
    return torch.cdist(rows.detach().flatten(1).float(), inputs.flatten(1).float()).argmin(1).cpu().numpy()


def _keep_better(log: QueryLog, index: Tensor | None, value: Tensor, x: Tensor) -> None:
    """Keeps, per sample, the queried input with the smallest distance (`index`: the rows' samples; None: the whole
    batch in order, handled without indexing)."""
    current = log.best if index is None else log.best[index]
    better = value < current
    shape = (-1,) + (1,) * (x.dim() - 1)
    if index is None:
        torch.minimum(log.best, value, out=log.best)
        log.best_inputs.copy_(torch.where(better.view(shape), x.to(log.best_inputs.dtype), log.best_inputs))
    else:
        log.best[index] = torch.where(better, value, current)
        log.best_inputs[index] = torch.where(better.view(shape), x.to(log.best_inputs.dtype), log.best_inputs[index])


@contextmanager
def query_budget(model: nn.Module, inputs: Tensor, labels: Tensor, distance: str,
                 budget: int = DEFAULT_BUDGET, targeted: bool = False) -> Iterator[QueryLog]:
    """Counts and records `model`'s queries on `inputs` (clean, [B, C, H, W]) while the block runs, each sample
    allowed `budget` forwards + backwards; yields the `QueryLog`. Success is the argmax differing from `labels` (equal
    to them when `targeted`); distances are `distance` (a name of `alma.distances`) to the clean input."""
    if budget < 1:
        raise ValueError(f"the query budget must be ≥ 1, got {budget}")
    n = len(inputs)
    dist = distances.get(distance)
    whole = dist.build(inputs)
    log = QueryLog(budget, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                   torch.full((n,), float("inf"), device=inputs.device), inputs.detach().clone())
    everyone = np.arange(n)

    def on_output(rows: Tensor, logits: Tensor) -> Callable[[Tensor], None]:
        identity = len(rows) == n and rows.shape == inputs.shape
        samples = everyone if identity else _nearest(rows, inputs)
        live = log.spent[samples] < budget
        if not live.any():
            log.stopped = True
            raise BudgetExhausted(f"every sample has spent its budget of {budget} queries")
        np.add.at(log.forwards, samples, live)
        with torch.no_grad():
            x = rows.detach()
            index = None if identity else torch.from_numpy(samples).to(inputs.device)
            value = whole(x) if index is None else dist.build(inputs[index])(x)
            predicted = logits.detach().argmax(1)
            truth = labels if index is None else labels[index]
            wrong = predicted == truth if targeted else predicted != truth
            if not live.all():
                wrong &= torch.from_numpy(live).to(wrong.device)
            value = value.float().masked_fill(~wrong, float("inf"))
            _keep_better(log, index, value, x)
        log.events.append((samples, log.spent[samples].copy(), value))

        def on_backward(_: Tensor) -> None:
            np.add.at(log.backwards, samples, live)
        return on_backward

    with watch_calls(model, on_output):
        yield log
