"""The Geometry page's job: the 2-D slice through a run's clean input (`alma.geometry`) with the run's iterates
projected on it, computed in a worker process with progress and Stop.

`GeometryTask.for_run` builds the job from an explorer run; the job returns a small `Geometry` (the `Slice`, on the
CPU, and the projected path), partial when stopped during the grid.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
from torch import Tensor

from alma.geometry import Coordinates, Slice, evaluate_slice, grid_cost, plane_directions

from .jobs import WorkerContext
from .outcome import RunOutcome

RESOLUTIONS = (21, 41, 81, 161)
"""Grid points per axis (odd, so that the clean input is a grid point)."""
DIRECTIONS = {"gradient": "the constraint's gradient ∇c", "random": "a random direction"}
GRID = "grid"
"""The job's progress label: grid points evaluated / in all."""
BATCH_VALUES = 2 ** 22
"""Input values in one batch of grid points (256 MNIST digits, 27 ImageNet images)."""
MAX_BATCH = 256
PATH_BYTES = 32 * 2 ** 20
"""At most this many bytes of iterates go to the worker: evenly spaced snapshots beyond that."""
TARGET_SECONDS = 10.0
"""The default resolution is the finest one estimated to take at most this long."""


def batch_size(numel: int) -> int:
    """Grid points per model call for inputs of `numel` values."""
    return max(1, min(MAX_BATCH, BATCH_VALUES // numel))


def cost(resolution: int, numel: int) -> tuple[int, int]:
    """(forwards, batches) of a resolution² grid (`grid_cost`, plus the forward and backward of ∇c)."""
    forwards, batches = grid_cost(resolution, resolution, batch_size(numel))
    return forwards + 1, batches


def threads(outcome: RunOutcome) -> int:
    """CPU threads for the grid: batched forwards use more threads well (at least the run's own)."""
    return max(outcome.config.cpu_threads, (os.cpu_count() or 2) // 2)


def guessed_seconds_per_forward(outcome: RunOutcome) -> float:
    """A guess before any slice is measured: a step of the run is one forward and one backward of one image, about
    3 forwards (batched forwards are cheaper still)."""
    return outcome.wall_seconds / max(outcome.steps, 1) / 3


def default_resolution(numel: int, seconds_per_forward: float) -> int:
    """The finest resolution estimated to take at most `TARGET_SECONDS` (else the coarsest)."""
    fitting = [n for n in RESOLUTIONS if cost(n, numel)[0] * seconds_per_forward <= TARGET_SECONDS]
    return fitting[-1] if fitting else RESOLUTIONS[0]


def path_indices(steps: Tensor, numel: int, keep: int | None = None) -> Tensor:
    """The snapshots to project: all of them if they fit in `PATH_BYTES` (float16), else evenly spaced ones with the
    first, the last and the one of step `keep` (e.g. the first adversarial step)."""
    fits = max(2, PATH_BYTES // (2 * numel))
    if len(steps) <= fits:
        return torch.arange(len(steps))
    chosen = torch.linspace(0, len(steps) - 1, fits).round().long()
    if keep is not None:
        chosen = torch.cat([chosen, (steps == keep).nonzero().view(-1)])
    return chosen.unique()


@dataclass(frozen=True)
class Geometry:
    """The slice and the run on it, in the plane's coordinates (a, b) in units of the attack's distance D.

    path: the projected iterates, one per step of `steps` [S] (None when the run kept none); first_adv: the first
    adversarial iterate (None when it is not among them); best: x̃* (None when the run failed, u then heads to the
    last iterate). seconds: time spent on the grid; points: grid points evaluated (fewer when stopped).
    """

    plane: Slice
    path: Coordinates | None
    steps: Tensor | None
    first_adv: tuple[float, float] | None
    best: tuple[float, float] | None
    resolution: int
    extent: float
    direction: str
    seed: int
    seconds: float
    points: int

    @property
    def seconds_per_forward(self) -> float:
        return self.seconds / max(self.points, 1)


@dataclass(frozen=True)
class GeometryTask:
    """The slice through `clean` [C, H, W] spanned by u ∝ `towards` − clean (x̃*, or the last iterate of a failed
    run) and v (`direction`: "gradient" or "random" with `seed`), on a resolution² grid of ℓ2 offsets within
    ±extent·‖towards − clean‖₂ per axis; D, c, label, targeted and κ as in the run. iterates [S, C, H, W] at `steps`
    [S] are projected on it."""

    model: str
    device: str
    clean: Tensor
    towards: Tensor
    is_best: bool
    label: int
    distance: str
    constraint: str
    targeted: bool
    logit_tolerance: float
    resolution: int
    extent: float
    direction: str = "gradient"
    seed: int = 0
    steps: Tensor | None = None
    iterates: Tensor | None = None
    first_adv_step: int | None = None

    @classmethod
    def for_run(cls, outcome: RunOutcome, resolution: int, extent: float, direction: str = "gradient",
                seed: int = 0) -> GeometryTask | None:
        """The job for an explorer run; None when nothing spans u (a failed run without iterates)."""
        settings, snapshots = outcome.config.attack, outcome.trace.snapshots
        steps = iterates = None
        if snapshots is not None and len(snapshots):
            chosen = path_indices(snapshots.steps, outcome.clean.numel(), outcome.first_adv_step)
            steps, iterates = snapshots.steps[chosen], snapshots.images[chosen, 0]
        towards = outcome.adversarial if outcome.success else None
        if towards is None and iterates is not None:
            towards = iterates[-1].to(outcome.clean)
        if towards is None or not (towards - outcome.clean).norm() > 0:
            return None
        return cls(model=outcome.config.model, device=outcome.config.device, clean=outcome.clean, towards=towards,
                   is_best=outcome.success, label=outcome.label, distance=settings.distance,
                   constraint=settings.constraint, targeted=settings.targeted,
                   logit_tolerance=settings.logit_tolerance, resolution=resolution, extent=extent,
                   direction=direction, seed=seed, steps=steps, iterates=iterates,
                   first_adv_step=outcome.first_adv_step)

    @property
    def radius(self) -> float:
        """‖towards − clean‖₂ (‖δ*‖₂ for a successful run)."""
        return float((self.towards - self.clean).norm())

    @property
    def points(self) -> int:
        return self.resolution ** 2

    def __call__(self, context: WorkerContext) -> Geometry:
        model = context.model(self.model, self.device)
        device = torch.device(self.device)
        x, towards = self.clean.to(device), self.towards.to(device)
        u, v = plane_directions(model, x, self.label, towards, v=self.direction, seed=self.seed,
                                constraint=self.constraint, targeted=self.targeted,
                                logit_tolerance=self.logit_tolerance)
        context.check()
        r = self.radius
        offsets = torch.linspace(-self.extent * r, self.extent * r, self.resolution)

        def progress(done: int, total: int) -> bool:
            context.progress(GRID, done, total)
            return not context.stop_requested

        started = context.active_seconds
        plane = evaluate_slice(model, x, self.label, u, v, offsets, offsets, distance=self.distance,
                               constraint=self.constraint, targeted=self.targeted,
                               logit_tolerance=self.logit_tolerance, batch_size=batch_size(x.numel()),
                               scale_at=(r, None), progress=progress)
        seconds = context.active_seconds - started
        points = int((~plane.constraint.isnan()).sum())
        path = first_adv = None
        if self.iterates is not None and self.steps is not None:
            path = plane.project(self.iterates)
            at = (self.steps == self.first_adv_step).nonzero().view(-1)
            if len(at):
                first_adv = (float(path.a[at[0]]), float(path.b[at[0]]))
        best = None
        if self.is_best:
            a, b, _ = plane.project(self.towards)
            best = (float(a), float(b))
        return Geometry(plane=plane, path=path, steps=self.steps, first_adv=first_adv, best=best,
                        resolution=self.resolution, extent=self.extent, direction=self.direction, seed=self.seed,
                        seconds=seconds, points=points)


def estimate_seconds(forwards: int, seconds_per_forward: float) -> str:
    """"≈ 3.2 s" for a forward count at a measured speed."""
    seconds = forwards * seconds_per_forward
    return f"≈ {seconds:.1f} s" if seconds < 60 else f"≈ {math.ceil(seconds / 60)} min"
