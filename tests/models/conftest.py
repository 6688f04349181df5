"""Fixtures for the registry tests: no network, an empty torch hub cache."""
from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every download fails at once (as offline), and the torch hub cache is an empty folder, which is returned."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled for this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home" / "hub" / "checkpoints"


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: on a shared 2-core machine, 2 OpenMP threads stall whenever another process holds a core
    (a small mobilenet's check took 20 s with 2 threads and 1.6 s with 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
