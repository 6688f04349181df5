"""The work cut into chunks of consecutive samples, one parquet file per chunk and attack, written atomically (a
temporary file renamed into place), so that a killed run leaves only whole chunks and a rerun skips them; `merge`
joins them into the per-sample table."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

CLEAN = "clean"
METRICS = ("success", "distance", "best", "forwards", "backwards", "seconds")
"""Per attack and sample: success by argmax on the returned image, its distance (+inf: failed), the best distance at
any query, forwards and backwards within the budget, and the attack's time (its batch's time / batch size)."""

Chunk = tuple[int, int]


def plan(start: int, n: int, size: int) -> list[Chunk]:
    """[first, end) index ranges of `size` samples (the last may be shorter)."""
    return [(first, min(first + size, start + n)) for first in range(start, start + n, size)]


def path(out: Path, part: str, chunk: Chunk) -> Path:
    return out / "chunks" / part / f"{chunk[0]:07d}-{chunk[1]:07d}.parquet"


def write(frame: pd.DataFrame, target: Path) -> None:
    """Writes `frame` to `target` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    frame.to_parquet(temporary, index=False)
    os.replace(temporary, target)


def merge(out: Path, attacks: list[str], chunks: list[Chunk]) -> pd.DataFrame:
    """One row per sample: the clean columns, then `<attack>.<metric>` for every attack."""
    table = pd.concat([pd.read_parquet(path(out, CLEAN, c)) for c in chunks], ignore_index=True)
    for attack in attacks:
        part = pd.concat([pd.read_parquet(path(out, attack, c)) for c in chunks], ignore_index=True)
        part = part.rename(columns={m: f"{attack}.{m}" for m in METRICS})
        table = table.merge(part, on="index", how="left", validate="one_to_one")
    return table
