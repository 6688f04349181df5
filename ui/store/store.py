"""`RunStore`: the run records (see `record`) in one SQLite file. Every write is one transaction (a crash leaves the
store as it was before or after it, never with half a run); SQLite's locks let several sessions and processes write
at once; the oldest unpinned runs are evicted when the store grows past its size bound."""
from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .location import MEMORY, store_path
from .record import THUMBNAIL_PNG, RunRecord
from .schema import SchemaError, migrate

MAX_BYTES_ENV = "ALMA_STORE_MAX_MB"
DEFAULT_MAX_BYTES = 2 * 2**30
BUSY_TIMEOUT_MS = 30_000


class StoreError(RuntimeError):
    """The store cannot do what was asked; the message says why and what to do. Nothing stored was changed."""


@dataclass(frozen=True)
class RunSummary:
    """What the gallery shows of a run."""

    id: str
    name: str
    created: float
    pinned: bool
    model: str
    distance: str
    input: str
    steps: int
    final_distance: float
    """inf when the attack found no adversarial."""
    success: bool
    size: int
    thumbnail: bytes


def _max_bytes() -> int:
    value = os.environ.get(MAX_BYTES_ENV)
    return int(float(value) * 2**20) if value else DEFAULT_MAX_BYTES


class RunStore:
    """The run store at `path` (`:memory:` for a private, temporary one); one connection, shared by the threads of
    a server under a lock. Raises `StoreError` when the file is damaged, foreign or newer than this version."""

    def __init__(self, path: str | Path | None = None, max_bytes: int | None = None) -> None:
        self.path = str(path or store_path())
        self.max_bytes = _max_bytes() if max_bytes is None else max_bytes
        self._lock = threading.RLock()
        with self._errors("open"):
            if self.path != MEMORY:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                       check_same_thread=False)
            try:
                self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                migrate(self._db)
                if self.path != MEMORY:
                    self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA foreign_keys = ON")
            except BaseException:
                self._db.close()
                raise

    def close(self) -> None:
        self._db.close()

    # --- writing ---------------------------------------------------------------------------------------------------

    def put(self, record: RunRecord) -> None:
        """Adds `record` in one transaction, then evicts the oldest unpinned runs while the store is too large."""
        try:
            columns = record.columns()
        except (KeyError, TypeError, ValueError) as err:
            raise StoreError(f"The run's record is incomplete ({err}).") from None
        sha256 = columns.pop("upload_sha256") if record.upload is not None else None
        if sha256 is not None and hashlib.sha256(record.upload).hexdigest() != sha256:
            raise StoreError("The kept upload is not the image the run attacked (its sha256 differs).")
        with self._transaction("save the run") as db:
            if db.execute("SELECT 1 FROM runs WHERE id = ?", (record.id,)).fetchone():
                raise StoreError(f"A run with the id {record.id} is already in the library.")
            db.execute("INSERT INTO runs (id, name, created, pinned, model, distance, input, steps, final_distance, "
                       "success, size, meta, upload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (record.id, record.name, record.created, int(record.pinned), columns["model"],
                        columns["distance"], columns["input"], columns["steps"], columns["final_distance"],
                        int(columns["success"]), record.size, json.dumps(record.meta), sha256))
            db.executemany("INSERT INTO files (run_id, name, data) VALUES (?, ?, ?)",
                           [(record.id, name, data) for name, data in record.files.items()])
            if sha256 is not None:
                db.execute("INSERT OR IGNORE INTO uploads (sha256, data) VALUES (?, ?)", (sha256, record.upload))
            self._evict(db, keep=record.id)

    def rename(self, run_id: str, name: str) -> bool:
        with self._transaction("rename the run") as db:
            return db.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id)).rowcount == 1

    def set_pinned(self, run_id: str, pinned: bool) -> bool:
        """A pinned run is never evicted."""
        with self._transaction("pin the run") as db:
            return db.execute("UPDATE runs SET pinned = ? WHERE id = ?", (int(pinned), run_id)).rowcount == 1

    def delete(self, run_id: str) -> bool:
        with self._transaction("delete the run") as db:
            return self._delete(db, run_id)

    # --- reading ---------------------------------------------------------------------------------------------------

    def list(self) -> list[RunSummary]:
        """Every run, newest first."""
        with self._errors("list the runs"), self._lock:
            rows = self._db.execute(
                "SELECT r.id, r.name, r.created, r.pinned, r.model, r.distance, r.input, r.steps, r.final_distance, "
                "r.success, r.size, f.data FROM runs r LEFT JOIN files f ON f.run_id = r.id AND f.name = ? "
                "ORDER BY r.created DESC", (THUMBNAIL_PNG,)).fetchall()
        return [RunSummary(id=r[0], name=r[1], created=r[2], pinned=bool(r[3]), model=r[4], distance=r[5],
                           input=r[6], steps=r[7], final_distance=math.inf if r[8] is None else r[8],
                           success=bool(r[9]), size=r[10], thumbnail=r[11] or b"") for r in rows]

    def record(self, run_id: str) -> RunRecord | None:
        """The stored record of a run, None when there is none with this id."""
        with self._errors("read the run"), self._lock:
            row = self._db.execute("SELECT name, created, pinned, meta, upload_sha256 FROM runs WHERE id = ?",
                                   (run_id,)).fetchone()
            if row is None:
                return None
            files = dict(self._db.execute("SELECT name, data FROM files WHERE run_id = ?", (run_id,)).fetchall())
            upload = None
            if row[4] is not None:
                found = self._db.execute("SELECT data FROM uploads WHERE sha256 = ?", (row[4],)).fetchone()
                upload = found[0] if found else None
        return RunRecord(id=run_id, name=row[0], created=row[1], pinned=bool(row[2]), meta=json.loads(row[3]),
                         files=files, upload=upload)

    def total_bytes(self) -> int:
        with self._errors("measure the library"), self._lock:
            return self._total(self._db)

    def integrity_problems(self) -> list[str]:
        """SQLite's integrity check and foreign-key check: empty when the file is sound."""
        with self._errors("check the library"), self._lock:
            problems = [row[0] for row in self._db.execute("PRAGMA integrity_check").fetchall() if row[0] != "ok"]
            orphans = self._db.execute("PRAGMA foreign_key_check").fetchall()
        return problems + [f"orphan row in {row[0]}" for row in orphans]

    # --- inside ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _total(db: sqlite3.Connection) -> int:
        runs = db.execute("SELECT coalesce(sum(size), 0) FROM runs").fetchone()[0]
        uploads = db.execute("SELECT coalesce(sum(length(data)), 0) FROM uploads").fetchone()[0]
        return runs + uploads

    def _evict(self, db: sqlite3.Connection, keep: str) -> None:
        while self._total(db) > self.max_bytes:
            oldest = db.execute("SELECT id FROM runs WHERE pinned = 0 AND id != ? ORDER BY created LIMIT 1",
                                (keep,)).fetchone()
            if oldest is None:
                return
            self._delete(db, oldest[0])

    @staticmethod
    def _delete(db: sqlite3.Connection, run_id: str) -> bool:
        deleted = db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount == 1
        db.execute("DELETE FROM uploads WHERE sha256 NOT IN (SELECT upload_sha256 FROM runs "
                   "WHERE upload_sha256 IS NOT NULL)")
        return deleted

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is kept, or none of it."""
        with self._errors(what), self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite has rolled back already after e.g. a full disk
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """SQLite's errors as `StoreError`s that say what happened and what to do."""
        try:
            yield
        except SchemaError as err:
            raise StoreError(f"The run library {self.path} cannot be used: {err}. It was left untouched; set "
                             "ALMA_STORE to another file to use a new library.") from None
        except sqlite3.Error as err:
            raise StoreError(self._message(what, err)) from None
        except OSError as err:
            raise StoreError(f"Could not {what}: {err}.") from None

    def _message(self, what: str, err: sqlite3.Error) -> str:
        text = str(err)
        if "not a database" in text or "malformed" in text:
            return (f"The run library {self.path} is damaged or not a run library ({text}). It was left untouched; "
                    "move it away, or set ALMA_STORE to another file, to start a new library.")
        if "full" in text:
            return f"Could not {what}: the disk is full. Nothing was changed; free some space or delete runs."
        if "locked" in text or "busy" in text:
            return f"Could not {what}: the library is busy in another process. Try again."
        if "readonly" in text:
            return f"Could not {what}: the library {self.path} is read-only."
        return f"Could not {what} ({text})."
