"""Iterates x̃⁽ᵏ⁾ kept every K steps, for replaying an attack image by image.

The attack copies x̃ into a preallocated float16 device buffer before the update of every K-th step (one kernel, no
host synchronisation); the host sees the buffer when trace rows are delivered. float16 keeps pixel values in [0, 1]
to within 2⁻¹² (half a unit in the last place near 1), which is exact enough for display and halves the memory.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

DTYPE = torch.float16
DEFAULT_BUDGET_BYTES = 256 * 2 ** 20
_CHUNK = 1024  # row views made at a time, so that taking a snapshot is a single copy


@dataclass
class Snapshots:
    """steps [S] (long): the step k of each snapshot; images [S, B, C, H, W] (float16, CPU, in [0, 1]): x̃⁽ᵏ⁾, the
    iterate before the update of step k, i.e. the input whose trace row is k (step 0: the clean input)."""

    steps: Tensor
    images: Tensor

    def __len__(self) -> int:
        return len(self.steps)


def concat(parts: list[Snapshots | None]) -> Snapshots | None:
    """The snapshots of consecutive trace parts, in order (None when snapshots were off)."""
    if not parts or parts[0] is None:
        return None
    return Snapshots(steps=torch.cat([p.steps for p in parts]), images=torch.cat([p.images for p in parts]))


def resolve_every(every: int | None, num_steps: int, like: Tensor, budget_bytes: int) -> int:
    """The snapshot interval K actually used: `every` (0 or None: off), raised so that the S = ⌈N / K⌉ snapshots of
    the batch fit in `budget_bytes`; 0 (off) when not even one fits. Warns when it changes K."""
    if not every:
        return 0
    if every < 0:
        raise ValueError(f"snapshot_every must be ≥ 0, got {every}")
    per_snapshot = like.numel() * DTYPE.itemsize
    fits = budget_bytes // per_snapshot if per_snapshot else num_steps
    if fits >= math.ceil(num_steps / every):
        return every
    if fits < 1:
        warnings.warn(f"one snapshot of this batch ({per_snapshot} bytes) exceeds snapshot_budget_bytes="
                      f"{budget_bytes}: snapshots are off", stacklevel=3)
        return 0
    raised = math.ceil(num_steps / fits)
    warnings.warn(f"snapshot_every raised from {every} to {raised} to keep the snapshots within "
                  f"snapshot_budget_bytes={budget_bytes}", stacklevel=3)
    return raised


class SnapshotRecorder:
    """x̃ every `every` steps into a device buffer [⌈N / every⌉, B, C, H, W] of float16."""

    def __init__(self, every: int, num_steps: int, like: Tensor) -> None:
        self.every = every
        self.buffer = torch.empty((math.ceil(num_steps / every), *like.shape), device=like.device, dtype=DTYPE)
        self._views: tuple[Tensor, ...] = ()
        self._first_view = 0
        self.delivered = 0

    def take(self, step: int, iterate: Tensor) -> None:
        """Keep `iterate` if `step` is a multiple of the interval."""
        if step % self.every:
            return
        index = step // self.every
        if not self._first_view <= index < self._first_view + len(self._views):
            self._first_view = index
            self._views = self.buffer[index:index + _CHUNK].unbind(0)
        self._views[index - self._first_view].copy_(iterate)

    def rows(self, stop: int) -> Snapshots:
        """Host copy of the snapshots of steps [last stop, stop) (stop exclusive, > the last stop)."""
        start, self.delivered = self.delivered, stop
        return self.span(start, stop)

    def span(self, start: int, stop: int) -> Snapshots:
        """Host copy of the snapshots of steps [start, stop)."""
        first, end = -(-start // self.every), -(-stop // self.every)
        steps = torch.arange(first, end, dtype=torch.long) * self.every
        return Snapshots(steps=steps, images=self.buffer[first:end].cpu())
