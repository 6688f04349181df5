"""Real processes on one store file: two writing at once lose nothing; a writer killed in the middle of a write
leaves the store consistent, with every run it committed complete."""
from __future__ import annotations

import multiprocessing
import sys
import time
import types
from pathlib import Path

from ui.outcome import RunOutcome
from ui.store.codec import decode, encode, load, save
from ui.store.store import RunStore

from . import writers

SPAWN = multiprocessing.get_context("spawn")
TIMEOUT_S = 120


def _start(process: multiprocessing.process.BaseProcess) -> None:
    """Starts `process` with an empty main module: a spawned process runs the parent's main module first, and after
    an AppTest that is the app's script (which would start the app's worker pool in the writer)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        process.start()
    finally:
        sys.modules["__main__"] = main


def test_two_processes_writing_at_once_lose_nothing(outcome: RunOutcome, store_file: Path) -> None:
    RunStore(store_file).close()  # created once, as the app would
    record, start = encode(outcome), SPAWN.Event()
    processes = [SPAWN.Process(target=writers.write_runs, args=(str(store_file), record, tag, 12, start))
                 for tag in ("a", "b")]
    for process in processes:
        _start(process)
    start.set()
    for process in processes:
        process.join(TIMEOUT_S)
        assert process.exitcode == 0
    store = RunStore(store_file)
    names = sorted(s.name for s in store.list())
    assert names == sorted(f"{tag} {i}" for tag in "ab" for i in range(12))
    assert not store.integrity_problems()
    assert all(load(store, s.id).steps == outcome.steps for s in store.list()[:3])


def test_a_writer_killed_mid_write_leaves_no_half_run(outcome: RunOutcome, store_file: Path) -> None:
    RunStore(store_file).close()
    committed = SPAWN.Value("i", 0)
    writer = SPAWN.Process(target=writers.write_big_runs_forever,
                           args=(str(store_file), encode(outcome), 24 * 2**20, committed))
    _start(writer)
    deadline = time.monotonic() + TIMEOUT_S
    while committed.value < 2:
        assert writer.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.12)  # into the next write: its sha256 takes a few hundredths of a second, its transaction tenths
    writer.kill()
    writer.join(TIMEOUT_S)
    done = committed.value

    store = RunStore(store_file)
    assert not store.integrity_problems()
    summaries = store.list()
    assert len(summaries) in (done, done + 1)  # killed after its commit but before it counted: one more
    for summary in summaries:
        record = store.record(summary.id)
        decode(record)
        assert record.upload is not None and len(record.upload) == 24 * 2**20 + 16
    assert store.total_bytes() == sum(s.size for s in summaries) + len(summaries) * (24 * 2**20 + 16)
    save(store, outcome)  # and the store takes new runs
