"""The Compare attacks page's job: several attacks on the same images, each measured by `alma.compare.run_attack`,
with progress within each attack (its forward passes so far), a Stop that ends the running attack, and every
finished attack published at once so the page's table fills in as they end."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from alma.compare import ATTACKS, AttackRun, run_attack

from .errors import user_message
from .jobs import Stopped, WorkerContext

RUNS = "runs"
"""Key under which the task publishes the runs finished so far."""


@dataclass(frozen=True)
class Comparison:
    """Finished runs on `images` [B, C, H, W] (labels: the model's clean predictions) and the attacks that failed."""

    model: str
    budget: int
    images: Tensor
    labels: Tensor
    runs: list[AttackRun]
    errors: list[str]
    stopped: bool = False


def expected_forwards(attack: str, budget: int) -> int | None:
    """Forwards per sample an attack makes at most at `budget` (None: not known beforehand)."""
    if attack.startswith("fab"):
        return 2 * budget + 1
    if attack.startswith("cw"):
        return 90 * budget
    if attack.startswith("apgd"):
        return None
    return budget


@dataclass(frozen=True)
class CompareTask:
    """Runs `attacks` at `budget` on `images` [B, C, H, W] with the model `model` on the CPU."""

    model: str
    images: Tensor
    attacks: tuple[str, ...]
    budget: int

    def __call__(self, context: WorkerContext) -> Comparison:
        model = context.model(self.model, "cpu")
        with torch.no_grad():
            labels = model(self.images).argmax(1)
        runs: list[AttackRun] = []
        errors: list[str] = []
        stopped = False
        for name in self.attacks:
            total = expected_forwards(name, self.budget)

            def on_forward(rows: int, name: str = name, total: int | None = total) -> None:  # total 0: unknown
                context.check()
                done = rows // len(self.images)
                context.progress(name, done, total or 0)

            try:
                runs.append(run_attack(model, self.images, labels, name, self.budget, on_forward=on_forward))
            except Stopped:
                stopped = True
                break
            except Exception as err:  # one failing attack must not hide the others
                errors.append(f"{ATTACKS[name].label}: {user_message(err)}")
            context.publish(RUNS, (list(runs), list(errors)))
        return Comparison(self.model, self.budget, self.images, labels, runs, errors, stopped)
