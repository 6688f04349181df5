"""What an evaluation computes, as a frozen record: the out folder remembers it (`run.json`), so a rerun of the same
command resumes and another command is refused before any work."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

RUN_FILE = "run.json"


class OutFolderError(ValueError):
    """The out folder holds another command's results."""


@dataclass(frozen=True)
class EvalConfig:
    """model, dataset (a name or a path) and the slice [start, start + n) of it; attacks with their steps N; budget:
    queries (forwards + backwards) per sample; batch_size: samples per chunk (the unit of work and of resumption);
    seed: each chunk's attacks are seeded with seed + its first index."""

    model: str
    dataset: str
    start: int
    n: int
    attacks: tuple[str, ...]
    steps: tuple[int, ...]
    budget: int
    batch_size: int
    seed: int

    def identity(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def claim(out: Path, config: EvalConfig, write: bool) -> None:
    """Checks that `out` is empty, or holds this very evaluation; with `write`, records it there."""
    record = out / RUN_FILE
    if record.is_file():
        try:
            theirs = json.loads(record.read_text())
        except ValueError:
            raise OutFolderError(f"{out} holds an unreadable {RUN_FILE}; choose another --out") from None
        mine = config.identity()
        differ = [k for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
        if differ:
            raise OutFolderError(f"{out} holds another command's results (they differ in "
                                 f"{', '.join(f'{k}: {theirs.get(k)!r} there, {mine.get(k)!r} here' for k in differ)}"
                                 "); choose another --out or rerun that command")
        return
    if out.is_dir() and any(out.iterdir()):
        raise OutFolderError(f"{out} is not empty and holds no {RUN_FILE}; choose an empty or new --out")
    if write:
        out.mkdir(parents=True, exist_ok=True)
        temporary = record.with_suffix(".tmp")
        temporary.write_text(json.dumps(config.identity(), indent=1))
        temporary.replace(record)
