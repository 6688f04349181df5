"""Run these tests single-threaded: on a shared 2-core machine, 2 OpenMP threads stall whenever another process
holds a core (a SmallCNN step measured 6 ms with 1 thread and 400 ms with 2)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
