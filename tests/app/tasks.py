"""Tasks for the worker-pool tests (importable by the worker processes)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

import alma
from alma.attack import AttackResult
from ui.jobs import WorkerContext

MODEL = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval().requires_grad_(False)
X, Y = torch.full((1, 1, 2, 2), 0.5), torch.tensor([0])


@dataclass(frozen=True)
class TinyAttack:
    """ALMA on a 4-pixel linear model, `steps` steps (fast: thousands of steps per second)."""

    steps: int

    def __call__(self, context: WorkerContext) -> AttackResult:
        return alma.attack(MODEL, X, Y, num_steps=self.steps, on_step=context.callback(), every=1)


@dataclass(frozen=True)
class Fails:
    def __call__(self, context: WorkerContext) -> None:
        raise ValueError("num_steps must be positive")


@dataclass(frozen=True)
class Raises:
    """Raises `error` in the worker, as a failing attack would."""

    error: Exception

    def __call__(self, context: WorkerContext) -> None:
        raise self.error
