"""A run saved and reopened is the same run: trace, snapshots, images, predictions, metrics and config; rename, pin,
delete; the size bound evicts the oldest unpinned runs."""
from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import pytest
import torch

from alma.trace import FIELDS, RECORDED
from ui.config import InputRef
from ui.outcome import RunOutcome
from ui.store import codec
from ui.store.codec import decode, encode, load, save
from ui.store.store import RunStore


def assert_same_run(got: RunOutcome, want: RunOutcome) -> None:
    assert got.config == want.config and got.config.versions == want.config.versions
    for name in (*RECORDED, *FIELDS, "first_adv_step", "lr_init", "lr_search_failed"):
        a, b = getattr(got.trace, name), getattr(want.trace, name)
        assert a.dtype == b.dtype and torch.equal(a, b), name
    assert got.trace.start == want.trace.start
    for name in ("clean", "adversarial", "distance_map"):
        assert torch.equal(getattr(got, name), getattr(want, name)), name
    for name in ("before", "after", "after_8bit"):
        assert torch.equal(getattr(got, name).probabilities, getattr(want, name).probabilities), name
    for name in ("success", "distance", "metrics", "steps", "stopped", "num_forwards", "num_backwards",
                 "wall_seconds"):
        assert getattr(got, name) == getattr(want, name), name


def test_a_saved_run_reopens_identical_in_a_new_connection(outcome: RunOutcome, store_file: Path) -> None:
    with_store = RunStore(store_file)
    run_id = save(with_store, outcome)
    with_store.close()
    assert len(run_id) == 32 and int(run_id, 16) >= 0  # 128 random bits

    reopened = RunStore(store_file)
    got = load(reopened, run_id)
    assert_same_run(got, outcome)
    assert torch.equal(got.trace.snapshots.steps, outcome.trace.snapshots.steps)
    assert torch.equal(got.trace.snapshots.images, outcome.trace.snapshots.images)
    [summary] = reopened.list()
    assert (summary.id, summary.model, summary.distance, summary.steps) == (run_id, "mnist-smallcnn", "l2", 20)
    assert summary.final_distance == outcome.distance and summary.success
    assert summary.thumbnail.startswith(b"\x89PNG")
    assert load(reopened, "0" * 32) is None
    assert not reopened.integrity_problems()
    reopened.close()


def test_memory_store_for_tests(outcome: RunOutcome) -> None:
    store = RunStore(":memory:")
    run_id = save(store, outcome, name="mine")
    assert [(s.id, s.name) for s in store.list()] == [(run_id, "mine")]
    assert_same_run(load(store, run_id), outcome)
    failed = dataclasses.replace(outcome, success=False, distance=math.inf)
    assert_same_run(load(store, save(store, failed)), failed)
    assert store.list()[0].final_distance == math.inf


def test_snapshots_are_kept_as_an_evenly_spaced_bounded_subset(outcome: RunOutcome,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    one = outcome.trace.snapshots.images[0].numel() * 2
    monkeypatch.setattr(codec, "SNAPSHOT_BUDGET_BYTES", 6 * one)
    snapshots = decode(encode(outcome)).trace.snapshots
    assert snapshots.steps.tolist() == [0, 4, 8, 12, 16]  # 20 iterates, every 4th: 5 ≤ 6 fit
    assert torch.equal(snapshots.images, outcome.trace.snapshots.images[::4])


def test_rename_pin_delete_and_newest_first(outcome: RunOutcome, store: RunStore) -> None:
    first = save(store, outcome)
    second = save(store, outcome)
    assert [s.id for s in store.list()] == [second, first]
    assert store.rename(first, "EMA off") and store.set_pinned(first, True)
    assert {s.id: (s.name, s.pinned) for s in store.list()}[first] == ("EMA off", True)
    assert store.delete(second) and not store.delete(second)
    assert [s.id for s in store.list()] == [first]
    assert store.record(second) is None


def test_eviction_drops_the_oldest_unpinned_runs_and_keeps_pinned_ones(outcome: RunOutcome, store_file: Path) -> None:
    size = encode(outcome).size
    store = RunStore(store_file, max_bytes=int(3.5 * size))
    ids = [save(store, outcome, name=f"run {i}") for i in range(3)]
    store.set_pinned(ids[0], True)
    ids += [save(store, outcome, name=f"run {i}") for i in range(3, 6)]
    kept = {s.name for s in store.list()}
    assert kept == {"run 0", "run 4", "run 5"}, kept  # run 0 pinned; 1, 2, 3 evicted oldest first
    assert store.total_bytes() <= 3.5 * size
    assert not store.integrity_problems()


def test_an_upload_is_kept_once_by_its_sha256_and_goes_with_its_last_run(outcome: RunOutcome, store: RunStore) -> None:
    data = b"\x89PNG pretend upload bytes"
    sha = hashlib.sha256(data).hexdigest()
    uploaded = dataclasses.replace(outcome, config=dataclasses.replace(outcome.config, input=InputRef(sha256=sha)))
    first, second = save(store, uploaded, upload=data), save(store, uploaded, upload=data)
    assert store.record(first).upload == data
    assert store.total_bytes() == 2 * encode(uploaded).size + len(data)  # the upload counted once
    store.delete(first)
    assert store.record(second).upload == data
    store.delete(second)
    assert store.total_bytes() == 0
