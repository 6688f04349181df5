"""Writer processes for the concurrency and crash tests: each opens the store file itself and adds runs (records
only: these processes import neither torch nor the codec, so they start in a fraction of a second)."""
from __future__ import annotations

import dataclasses
import hashlib
import os
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

from ui.store.record import RunRecord, new_id
from ui.store.store import RunStore


def write_runs(path: str, record: RunRecord, tag: str, count: int, start: Event) -> None:
    """Adds `count` copies of `record` named "<tag> <i>", once `start` is set."""
    store = RunStore(path)
    start.wait()
    for i in range(count):
        store.put(dataclasses.replace(record, id=new_id(), name=f"{tag} {i}"))


def write_big_runs_forever(path: str, record: RunRecord, upload_bytes: int, committed: Synchronized) -> None:
    """Adds copies of `record`, each with an upload of `upload_bytes` of its own, counting the committed ones."""
    store = RunStore(path)
    while True:
        upload = os.urandom(16) + bytes(upload_bytes)
        source = {"sample": None, "sha256": hashlib.sha256(upload).hexdigest(), "invert": None}
        config = dict(record.meta["config"], input=source)
        store.put(dataclasses.replace(record, id=new_id(), meta={**record.meta, "config": config}, upload=upload))
        with committed.get_lock():
            committed.value += 1
