"""What ALMA records per step and per sample, and its conversion to a DataFrame.

The attack keeps its per-sample quantities in one row [B, len(RECORDED)] on the device; recording a step copies that
row into a preallocated device buffer (one kernel, no host synchronisation). The host sees the buffer every `every`
steps or at the end. `best_distance` is the attack's own running best; `is_adv` and `first_adv_step` are derived
from the recorded constraint and best distance, exactly as the attack derives them (incrementally, so that handing
out one row at a time stays cheap).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from . import snapshots as snaps
from .snapshots import Snapshots

if TYPE_CHECKING:
    import pandas as pd

RECORDED = ("distance", "constraint", "mu", "rho", "lr", "grad_norm", "best_distance")
FIELDS = ("distance", "best_distance", "constraint", "mu", "rho", "lr", "is_adv", "grad_norm")
_BEST = RECORDED.index("best_distance")
_CHUNK = 1024  # row views made at a time, so that recording a step is a single copy


@dataclass
class Trace:
    """Steps [start, start + num_steps) of an attack; every field is a [num_steps, B] tensor on the CPU.

    distance: D(x̃⁽ⁱ⁾, x) of the iterate; constraint: c(f(x̃⁽ⁱ⁾)) (< 0 iff adversarial); mu: μ⁽ⁱ⁺¹⁾ used in the
    loss; rho: ρ used in the loss; lr: the step size η⁽ⁱ⁾; grad_norm: ‖∇L‖₂; is_adv: constraint < 0;
    best_distance: the smallest distance of an adversarial iterate so far (inf before the first one).
    first_adv_step [B]: the first adversarial step (−1 if none so far); lr_init [B]: η⁽⁰⁾;
    lr_search_failed [B]: the initial learning-rate search hit its cap and η⁽⁰⁾ fell back to `lr_init`.
    snapshots: the iterates kept within these steps (`attack(..., snapshot_every=K)`), None when off.
    """

    start: int
    distance: Tensor
    best_distance: Tensor
    constraint: Tensor
    mu: Tensor
    rho: Tensor
    lr: Tensor
    grad_norm: Tensor
    first_adv_step: Tensor
    lr_init: Tensor
    lr_search_failed: Tensor
    snapshots: Snapshots | None = None

    @property
    def is_adv(self) -> Tensor:
        return self.constraint < 0

    @property
    def num_steps(self) -> int:
        return self.distance.shape[0]

    @property
    def steps(self) -> Tensor:
        return torch.arange(self.start, self.start + self.num_steps)

    def to_dataframe(self) -> pd.DataFrame:
        """Long (tidy) format: one row per step and sample, one column per quantity."""
        import pandas as pd

        num_steps, batch = self.distance.shape
        columns = {
            "step": self.steps.repeat_interleave(batch).numpy(),
            "sample": torch.arange(batch).repeat(num_steps).numpy(),
        }
        columns.update({name: getattr(self, name).reshape(-1).numpy() for name in FIELDS})
        return pd.DataFrame(columns)


class Recorder:
    """Copies of the attack's row [B, len(RECORDED)] in a preallocated device buffer [num_steps, len(RECORDED), B].

    `rows` hands out the rows not yet delivered, keeping `first_adv_step` up to date with a few host operations (one
    row at a time is cheap); `trace` builds the trace of all steps so far from the buffer at once."""

    def __init__(self, num_steps: int, row: Tensor) -> None:
        self.row = row.T
        self.buffer = torch.empty((num_steps, *self.row.shape), device=row.device, dtype=row.dtype)
        self._views: tuple[Tensor, ...] = ()
        self._first_view = 0
        self.delivered = 0
        self._first_adv = np.full(len(row), -1)
        self.first_adv = torch.from_numpy(self._first_adv.copy())
        self.lr_init = self.lr_search_failed = torch.empty(0)

    def set_lr_init(self, lr_init: Tensor, failed: Tensor) -> None:
        """η⁽⁰⁾ and the failed flags, known after step 0; copied to the host once."""
        self.lr_init, self.lr_search_failed = lr_init.cpu(), failed.cpu()

    def record(self, step: int) -> None:
        if not self._first_view <= step < self._first_view + len(self._views):
            self._first_view = step
            self._views = self.buffer[step:step + _CHUNK].unbind(0)
        self._views[step - self._first_view].copy_(self.row)

    def rows(self, stop: int, snapshots: Snapshots | None = None) -> Trace:
        """The rows not yet delivered, up to `stop` (exclusive, > the last `stop`), on the host."""
        start, self.delivered = self.delivered, stop
        fields = self.buffer[start:stop].cpu().unbind(1)
        if (self._first_adv < 0).any():
            first = _first_finite(fields[_BEST].numpy(), start, self._first_adv)
            if first is not self._first_adv:
                self._first_adv, self.first_adv = first, torch.from_numpy(first.copy())
        return self._trace(start, fields, self.first_adv, snapshots)

    def trace(self, stop: int, snapshots: Snapshots | None = None) -> Trace:
        """All rows up to `stop`."""
        fields = self.buffer[:stop].cpu().unbind(1)
        first = _first_finite(fields[_BEST].numpy(), 0, np.full(len(self._first_adv), -1))
        return self._trace(0, fields, torch.from_numpy(first.copy()), snapshots)

    def _trace(self, start: int, fields: tuple[Tensor, ...], first_adv: Tensor, snapshots: Snapshots | None) -> Trace:
        return Trace(start=start, first_adv_step=first_adv, lr_init=self.lr_init,
                     lr_search_failed=self.lr_search_failed, snapshots=snapshots, **dict(zip(RECORDED, fields)))


def _first_finite(best: np.ndarray, start: int, first: np.ndarray) -> np.ndarray:
    """`first` updated with the first row of `best` [n, B] that is finite (+ start), where it was −1 and one is;
    `first` itself when nothing changes."""
    finite = np.isfinite(best)
    newly = (first < 0) & finite[-1]
    if not newly.any():
        return first
    return np.where(newly, start + finite.argmax(0), first)


def concat(parts: list[Trace]) -> Trace:
    """One trace from consecutive parts."""
    last = parts[-1]
    stacked = {name: torch.cat([getattr(p, name) for p in parts]) for name in RECORDED}
    return Trace(start=parts[0].start, first_adv_step=last.first_adv_step, lr_init=last.lr_init,
                 lr_search_failed=last.lr_search_failed, snapshots=snaps.concat([p.snapshots for p in parts]),
                 **stacked)
