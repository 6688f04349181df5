"""The Compare attacks page's job: several attacks on the same images, each measured by `alma.compare.run_attack`,
with progress within each attack (its forward passes so far), a Stop that ends the running attack, and every
finished attack published at once so the page's table fills in as they end. Every query is recorded
(`alma.compare.query_budget`, without a limit), so the page can show the best distance found within each number of
queries."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from alma.compare import ATTACKS, NO_LIMIT, AttackRun, run_attack

from .errors import user_message
from .jobs import Stopped, WorkerContext

RUNS = "runs"
"""Key under which the task publishes the runs finished so far."""
CURVE_POINTS = 200


@dataclass(frozen=True)
class QueryCurve:
    """queries [G] (forwards + backwards per sample) and best [B, G]: the best distance found within that many
    queries, per image (+inf: no adversarial yet)."""

    queries: np.ndarray
    best: np.ndarray


def query_curve(run: AttackRun) -> QueryCurve:
    """The run's best distance against queries on at most `CURVE_POINTS` query counts."""
    spent = max(int(log.spent.max()) for log in run.queries)
    queries = np.unique(np.linspace(1, max(spent, 1), CURVE_POINTS).round().astype(np.int64))
    return QueryCurve(queries, run.best_curve(queries))


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
    curves: tuple[QueryCurve, ...] = ()
    """One per run: its best distance against queries."""


def expected_forwards(attack: str, budget: int) -> int | None:
    """Forwards per sample an attack makes at most at `budget` (None: not known beforehand)."""
    if attack.startswith("fab"):
        return 2 * budget + 1
    if attack == "cw-l2":
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
        curves: list[QueryCurve] = []
        errors: list[str] = []
        stopped = False
        for name in self.attacks:
            total = expected_forwards(name, self.budget)

            def on_forward(rows: int, name: str = name, total: int | None = total) -> None:  # total 0: unknown
                context.check()
                done = rows // len(self.images)
                context.progress(name, done, total or 0)

            try:
                run = run_attack(model, self.images, labels, name, self.budget, on_forward=on_forward,
                                 query_budget=NO_LIMIT)
                curves.append(query_curve(run))
                runs.append(replace(run, queries=[]))  # the curve is all the page needs of the query log
            except Stopped:
                stopped = True
                break
            except Exception as err:  # one failing attack must not hide the others
                errors.append(f"{ATTACKS[name].label}: {user_message(err)}")
            context.publish(RUNS, (list(runs), list(errors)))
        return Comparison(self.model, self.budget, self.images, labels, runs, errors, stopped, tuple(curves))
