"""Shared fixtures: the offline data folder (tests that need it skip when it is absent) and determinism."""
from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ALMA_WEIGHTS_DIR") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` (or `$ALMA_WEIGHTS_DIR`); skips the test when it is not there."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.skip(f"offline data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _run_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The runs the app saves go to a store of this test session (and its servers), never to the user's library."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALMA_STORE", str(tmp_path_factory.mktemp("run_store") / "runs.sqlite"))
        yield


@pytest.fixture(autouse=True)
def _weights_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point weight resolution at the offline data, when present."""
    if (SHARED_DATA / "MANIFEST.md").is_file():
        monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(SHARED_DATA))


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@pytest.fixture(scope="session")
def mnist_test(shared_data: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The MNIST test set: images [10000, 1, 28, 28] in [0, 1] and labels [10000]."""
    raw = shared_data / "mnist" / "MNIST" / "raw"
    images = _read_idx(raw / "t10k-images-idx3-ubyte.gz")
    labels = _read_idx(raw / "t10k-labels-idx1-ubyte.gz")
    x = torch.from_numpy(images.copy()).float().div_(255).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


@pytest.fixture(scope="session")
def cifar10_test(shared_data: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The first 1017 CIFAR-10 test images [N, 3, 32, 32] in [0, 1] and their labels."""
    data = np.load(shared_data / "cifar10" / "cifar10_test_first1017.npz")
    x = torch.from_numpy(data["x"]).permute(0, 3, 1, 2).float().div_(255)
    return x.contiguous(), torch.from_numpy(data["y"].astype(np.int64))
