"""One attack run for the explorer, from clean image to everything the result panel shows, all on the CPU.

`run_attack` runs in a worker process (see `ui.jobs`): it predicts the clean image, runs `alma.attack` with the
job's callback, then measures the adversarial with every distance and predicts it again, including after rounding
to 8 bits (what a PNG stores). `ExplorerTask` and `SeriesTask` are the jobs the pages submit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn

import alma
from alma import distances
from alma.trace import Trace

from .config import RunConfig
from .jobs import WorkerContext

TOP_K = 5
SNAPSHOT_BUDGET_BYTES = 32 * 2**20
"""Iterates kept per run for the scrubber (every step while they fit, else every K-th)."""


@dataclass(frozen=True)
class Prediction:
    """The model's class probabilities for one image."""

    probabilities: Tensor

    @property
    def label(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())

    def top(self, k: int = TOP_K) -> list[tuple[int, float]]:
        values, indices = self.probabilities.topk(min(k, len(self.probabilities)))
        return [(int(i), float(v)) for i, v in zip(indices, values)]


@dataclass(frozen=True)
class RunOutcome:
    """A finished (or stopped) run: images [C, H, W], the per-pixel map [H, W] of the attack's distance, and the
    metrics of the final adversarial; all tensors on the CPU."""

    config: RunConfig
    clean: Tensor
    adversarial: Tensor
    distance_map: Tensor
    before: Prediction
    after: Prediction
    after_8bit: Prediction
    success: bool
    distance: float
    """D(adversarial, clean) for the attack's own distance (inf when it failed)."""
    metrics: dict[str, float]
    trace: Trace
    steps: int
    stopped: bool
    num_forwards: int
    num_backwards: int
    wall_seconds: float

    @property
    def first_adv_step(self) -> int | None:
        step = int(self.trace.first_adv_step[0])
        return step if step >= 0 else None

    @property
    def label(self) -> int:
        """The class the attack moved away from (untargeted) or towards (targeted)."""
        settings, true_class = self.config.attack, self.config.input.true_class
        if settings.targeted:
            return settings.target
        return true_class if true_class is not None else self.before.label


@torch.no_grad()
def predict(model: nn.Module, images: Tensor) -> Prediction:
    """Prediction for one image [C, H, W] (on the model's device)."""
    return Prediction(model(images.unsqueeze(0)).softmax(1)[0].float().cpu())


@dataclass(frozen=True)
class ExplorerTask:
    """One run of the explorer: `image` [C, H, W] in [0, 1] (the model's input) attacked with `config`."""

    config: RunConfig
    image: Tensor

    def __call__(self, context: WorkerContext) -> RunOutcome:
        model = context.model(self.config.model, self.config.device)
        return run_attack(context, model, self.image, self.config)


@dataclass(frozen=True)
class SeriesTask:
    """Several labelled runs of one image, one after the other (e.g. EMA on and off); stops with the job."""

    configs: dict[str, RunConfig]
    image: Tensor

    def __call__(self, context: WorkerContext) -> dict[str, RunOutcome]:
        outcomes = {}
        for label, config in self.configs.items():
            if context.stop_requested:
                break
            model = context.model(config.model, config.device)
            outcomes[label] = run_attack(context, model, self.image, config, label=label)
        return outcomes


class NoJob:
    """A job context for `run_attack` outside a worker (benchmarks, tests): no step callback, and the seconds since
    it was made."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def callback(self, label: str = "") -> None:
        return None

    @property
    def active_seconds(self) -> float:
        return time.perf_counter() - self.started


def run_attack(job: WorkerContext, model: nn.Module, image: Tensor, config: RunConfig, label: str = "") -> RunOutcome:
    """Attacks `image` ([C, H, W] in [0, 1], the model's input) with `config` on `config.device`."""
    device = torch.device(config.device)
    if device.type == "cpu":
        torch.set_num_threads(config.cpu_threads)
    settings = config.attack
    x = image.to(device).unsqueeze(0)
    before = predict(model, x[0])
    if settings.targeted:
        if settings.target is None:
            raise ValueError("a targeted attack needs a target class")
        if settings.target == before.label:
            raise ValueError("the model already predicts the target class for this image; choose another target")
    untargeted_label = before.label if config.input.true_class is None else config.input.true_class
    labels = torch.tensor([settings.target if settings.targeted else untargeted_label], device=device)
    started = job.active_seconds
    result = alma.attack(model, x, labels, **settings.attack_kwargs(), on_step=job.callback(label), every=1,
                         snapshot_every=1, snapshot_budget_bytes=SNAPSHOT_BUDGET_BYTES)
    wall = job.active_seconds - started
    adv = result.adv_inputs
    with torch.no_grad():
        metrics = {name: float(value[0]) for name, value in distances.measure(x, adv).items()}
        distance_map = pixel_map(settings.distance, x, adv)
    return RunOutcome(config=config, clean=image.cpu(), adversarial=adv[0].cpu(), distance_map=distance_map,
                      before=before, after=predict(model, adv[0]), after_8bit=predict(model, _to_8bit(adv[0])),
                      success=bool(result.success[0]), distance=float(result.distances[0]), metrics=metrics,
                      trace=result.trace, steps=result.steps, stopped=result.stopped,
                      num_forwards=int(result.num_forwards[0]), num_backwards=int(result.num_backwards[0]),
                      wall_seconds=wall)


def pixel_map(distance: str, x: Tensor, adv: Tensor) -> Tensor:
    """The distance's own per-pixel map, or |δ| summed over channels where it has none."""
    pixel_map = distances.get(distance).pixel_map
    values = pixel_map(x, adv) if pixel_map is not None else (adv - x).abs().sum(1)
    return values[0].float().cpu()


def _to_8bit(image: Tensor) -> Tensor:
    return image.mul(255).round().div(255)
