"""Fixtures for the registry tests: no network, an empty torch hub cache."""
from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every download fails at once (as offline), and the torch hub cache is an empty folder, which is returned."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled for this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home" / "hub" / "checkpoints"
