"""What ALMA records per step and per sample, and its conversion to a DataFrame.

The attack writes one row of `RECORDED` quantities per step into a preallocated device buffer (one kernel, no
host synchronisation); the host sees the buffer every `every` steps or at the end. `is_adv` and `best_distance` are
derived from the recorded constraint and distance, exactly as the attack derives them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    import pandas as pd

RECORDED = ("distance", "constraint", "mu", "rho", "lr", "grad_norm")
FIELDS = ("distance", "best_distance", "constraint", "mu", "rho", "lr", "is_adv", "grad_norm")


@dataclass
class Trace:
    """Steps [start, start + num_steps) of an attack; every field is a [num_steps, B] tensor on the CPU.

    distance: D(x̃⁽ⁱ⁾, x) of the iterate; constraint: c(f(x̃⁽ⁱ⁾)) (< 0 iff adversarial); mu: μ⁽ⁱ⁺¹⁾ used in the
    loss; rho: ρ used in the loss; lr: the step size η⁽ⁱ⁾; grad_norm: ‖∇L‖₂; is_adv: constraint < 0;
    best_distance: the smallest distance of an adversarial iterate so far (inf before the first one).
    first_adv_step [B]: the first adversarial step (−1 if none so far); lr_init [B]: η⁽⁰⁾;
    lr_search_failed [B]: the initial learning-rate search hit its cap and η⁽⁰⁾ fell back to `lr_init`.
    """

    start: int
    distance: Tensor
    best_distance: Tensor
    constraint: Tensor
    mu: Tensor
    rho: Tensor
    lr: Tensor
    is_adv: Tensor
    grad_norm: Tensor
    first_adv_step: Tensor
    lr_init: Tensor
    lr_search_failed: Tensor

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
    """Per-step rows in a preallocated device buffer [num_steps, len(RECORDED), B]."""

    def __init__(self, num_steps: int, batch: int, device: torch.device, dtype: torch.dtype) -> None:
        self.buffer = torch.empty(num_steps, len(RECORDED), batch, device=device, dtype=dtype)
        self.delivered = 0
        self.best = torch.full((batch,), float("inf"), dtype=dtype)
        self.first_adv = torch.full((batch,), -1, dtype=torch.long)

    def record(self, step: int, *values: Tensor) -> None:
        torch.stack(values, out=self.buffer[step])

    def rows(self, stop: int, lr_init: Tensor, lr_search_failed: Tensor) -> Trace:
        """Host copy of the rows not yet delivered, up to `stop` (exclusive, > the last `stop`)."""
        start, self.delivered = self.delivered, stop
        block = self.buffer[start:stop].cpu()
        fields = dict(zip(RECORDED, block.unbind(1)))
        is_adv = fields["constraint"] < 0
        adv_distance = torch.where(is_adv, fields["distance"], torch.full_like(fields["distance"], float("inf")))
        best = torch.cummin(torch.cat([self.best[None], adv_distance]), dim=0).values[1:]
        self.best = best[-1]
        hit = is_adv.any(0)
        first = start + is_adv.to(torch.uint8).argmax(0)
        self.first_adv = torch.where((self.first_adv < 0) & hit, first, self.first_adv)
        return Trace(start=start, best_distance=best, is_adv=is_adv, first_adv_step=self.first_adv.clone(),
                     lr_init=lr_init.cpu(), lr_search_failed=lr_search_failed.cpu(), **fields)


def concat(parts: list[Trace]) -> Trace:
    """One trace from consecutive parts."""
    last = parts[-1]
    stacked = {name: torch.cat([getattr(p, name) for p in parts]) for name in FIELDS}
    return Trace(start=parts[0].start, first_adv_step=last.first_adv_step, lr_init=last.lr_init,
                 lr_search_failed=last.lr_search_failed, **stacked)
