"""The store's tables, its schema version (`PRAGMA user_version`) and the migrations that bring an older store up to
date; `PRAGMA application_id` marks a file as ours, so a foreign SQLite file is never changed."""
from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x414C4D41  # "ALMA"
MIGRATIONS = (
    # 0 → 1: the first schema.
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0,
        model TEXT NOT NULL,
        distance TEXT NOT NULL,
        input TEXT NOT NULL,
        steps INTEGER NOT NULL,
        final_distance REAL,
        success INTEGER NOT NULL,
        size INTEGER NOT NULL,
        meta TEXT NOT NULL,
        upload_sha256 TEXT
    );
    CREATE INDEX runs_created ON runs (created);
    CREATE TABLE files (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    CREATE TABLE uploads (
        sha256 TEXT PRIMARY KEY,
        data BLOB NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(Exception):
    """A file this version of the app must not touch: foreign, or written by a newer version."""


def migrate(db: sqlite3.Connection) -> None:
    """Creates or upgrades the schema (each step atomic); raises `SchemaError` for a file that is not ours."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    application = db.execute("PRAGMA application_id").fetchone()[0]
    tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application != APPLICATION_ID and (tables or version):
        raise SchemaError("it is an SQLite file of another program, not a run store of this explorer")
    if version > SCHEMA_VERSION:
        raise SchemaError(f"it was written by a newer version of the explorer (schema {version}; this version reads "
                          f"up to {SCHEMA_VERSION}): update the explorer to open it")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] >= target:  # another process migrated meanwhile
                db.execute("ROLLBACK")
                continue
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
