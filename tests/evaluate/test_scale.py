"""Sharding and resumption: torchrun with 2 gloo processes, and a run killed mid-way then rerun, both give the table
of one uninterrupted process."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from alma.evaluate.cli import main

from .conftest import ATTACKS, REPO, arguments, assert_same_table

CHUNKS = 4 * (1 + len(ATTACKS))  # 8 samples in chunks of 2: clean columns and each attack


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_torchrun_two_gloo_processes_give_the_same_table(shared_data: Path, tmp_path: Path, reference) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun is not None
    out = tmp_path / "out"
    done = subprocess.run([torchrun, "--standalone", "--nproc-per-node=2", "-m", "alma.evaluate",
                           *arguments(shared_data, out)], env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_table(pd.read_parquet(out / "samples.parquet"), reference)


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_table(shared_data: Path, tmp_path: Path, reference) -> None:
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "alma.evaluate", *arguments(shared_data, out)], env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / "chunks" / ATTACKS[0]
    deadline = time.monotonic() + 120
    while not (first.is_dir() and any(first.glob("*.parquet"))) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {p: p.stat().st_mtime_ns for p in (out / "chunks").rglob("*.parquet")}
    assert 0 < len(finished) < CHUNKS, "the run was killed mid-way"
    assert not (out / "samples.parquet").exists()
    assert main(arguments(shared_data, out)) == 0
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in finished.items()), "finished chunks are kept"
    assert len(list((out / "chunks").rglob("*.parquet"))) == CHUNKS
    assert_same_table(pd.read_parquet(out / "samples.parquet"), reference)
