"""A damaged, foreign or newer store file, a full disk and a damaged run: a clear message, nothing changed."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ui.outcome import RunOutcome
from ui.store.codec import CodecError, load, save
from ui.store.schema import SCHEMA_VERSION
from ui.store.store import RunStore, StoreError


def test_a_corrupt_store_file_is_reported_and_left_untouched(store_file: Path) -> None:
    store_file.parent.mkdir(parents=True)
    garbage = b"definitely not SQLite " * 500
    store_file.write_bytes(garbage)
    with pytest.raises(StoreError, match="damaged or not a run library.*left untouched"):
        RunStore(store_file)
    assert store_file.read_bytes() == garbage


def test_a_store_damaged_after_its_header_is_reported(outcome: RunOutcome, store_file: Path) -> None:
    store = RunStore(store_file)
    save(store, outcome)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(store_file.read_bytes())
    data[4096:] = bytes(len(data) - 4096)  # every page but the first zeroed
    store_file.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged"):
        RunStore(store_file).list()


def test_a_foreign_sqlite_file_is_not_changed(store_file: Path) -> None:
    store_file.parent.mkdir(parents=True)
    with sqlite3.connect(store_file) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    before = store_file.read_bytes()
    with pytest.raises(StoreError, match="another program"):
        RunStore(store_file)
    assert store_file.read_bytes() == before


def test_a_store_of_a_newer_schema_is_refused(outcome: RunOutcome, store_file: Path) -> None:
    store = RunStore(store_file)
    save(store, outcome)
    store._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store.close()
    with pytest.raises(StoreError, match=f"newer version.*schema {SCHEMA_VERSION + 1}"):
        RunStore(store_file)
    with sqlite3.connect(store_file) as db:  # its runs are still there
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_a_full_disk_saves_nothing_and_loses_nothing(outcome: RunOutcome, store: RunStore) -> None:
    kept = save(store, outcome)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own "disk full"
    with pytest.raises(StoreError, match="the disk is full"):
        save(store, outcome)
    assert [s.id for s in store.list()] == [kept]
    assert load(store, kept).steps == outcome.steps
    assert not store.integrity_problems()


def test_a_damaged_run_says_so_when_opened(outcome: RunOutcome, store: RunStore) -> None:
    run_id = save(store, outcome)
    store._db.execute("UPDATE files SET data = ? WHERE run_id = ? AND name = 'trace.npz'", (b"PK\x03\x04 cut", run_id))
    with pytest.raises(CodecError, match="a damaged file"):
        load(store, run_id)
