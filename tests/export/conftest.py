"""Real runs of the bundled MNIST SmallCNN for the export tests: one of 1000 steps with every iterate (snapshots),
and finished runs as the explorer makes them (`ui.outcome.run_attack`)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import Tensor, nn

import alma
from alma.images import to_model_input
from alma.models import DEFAULT_MODEL, get_info, load_model
from alma.samples import load_sample
from alma.trace import Trace
from ui.config import AttackSettings, InputRef, RunConfig
from ui.outcome import NoJob, RunOutcome, run_attack

SAMPLE = "mnist/3"


@dataclass(frozen=True)
class Iterates:
    """One attack with its iterates [S, C, H, W] at steps [S]."""

    clean: Tensor
    iterates: Tensor
    steps: Tensor
    trace: Trace


@pytest.fixture(scope="session")
def model() -> nn.Module:
    torch.set_num_threads(1)
    return load_model(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def digit() -> Tensor:
    """The sample digit as the model's input [1, 28, 28]."""
    return to_model_input(load_sample(SAMPLE), get_info(DEFAULT_MODEL))[0]


def attack_with_iterates(model: nn.Module, clean: Tensor, num_steps: int, alpha: float | None = None) -> Iterates:
    """`alma.attack` keeping every iterate."""
    x = clean.unsqueeze(0)
    with torch.no_grad():
        label = model(x).argmax(1)
    result = alma.attack(model, x, label, num_steps=num_steps, alpha=alpha, seed=0, snapshot_every=1)
    return Iterates(clean, result.snapshots.images[:, 0], result.snapshots.steps, result.trace)


@pytest.fixture(scope="session")
def long_run(model: nn.Module, digit: Tensor) -> Iterates:
    """1000 steps, the paper's budget."""
    return attack_with_iterates(model, digit, 1000)


def explorer_run(model: nn.Module, digit: Tensor, num_steps: int, alpha: float | None = None) -> RunOutcome:
    config = RunConfig(model=DEFAULT_MODEL, input=InputRef(sample=SAMPLE),
                       attack=AttackSettings(num_steps=num_steps, alpha=alpha))
    return run_attack(NoJob(), model, digit, config)
