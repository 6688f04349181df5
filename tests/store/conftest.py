"""Real runs of the bundled MNIST SmallCNN, as the explorer makes them (`ui.outcome.run_attack`), and stores in
real SQLite files."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from alma.images import to_model_input
from alma.models import DEFAULT_MODEL, get_info, load_model
from alma.samples import load_sample
from ui.config import AttackSettings, InputRef, RunConfig
from ui.outcome import NoJob, RunOutcome, run_attack
from ui.store.store import RunStore


def explorer_run(sample: str = "mnist/3", num_steps: int = 20, distance: str = "l2",
                 alpha: float | None = None) -> RunOutcome:
    torch.set_num_threads(1)
    info = get_info(DEFAULT_MODEL)
    image = to_model_input(load_sample(sample), info)[0]
    config = RunConfig(model=DEFAULT_MODEL, input=InputRef(sample=sample),
                       attack=AttackSettings(num_steps=num_steps, distance=distance, alpha=alpha))
    return run_attack(NoJob(), load_model(DEFAULT_MODEL), image, config)


@pytest.fixture(scope="session")
def outcome(shared_data: Path) -> RunOutcome:
    """20 steps of ℓ2 on the sample 3, every iterate kept."""
    return explorer_run()


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    return tmp_path / "library" / "runs.sqlite"


@pytest.fixture
def store(store_file: Path) -> RunStore:
    store = RunStore(store_file)
    yield store
    store.close()
