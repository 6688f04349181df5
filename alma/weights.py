"""The one place that finds weight files: `ALMA_WEIGHTS_DIR` first, then the torch hub cache, then a download.

Every file has a `WeightFile` entry: its name in the torch hub cache, where to download it and its sha256, plus the
relative paths (each with its own sha256) under which an offline copy may sit in `$ALMA_WEIGHTS_DIR`. Checksums are
verified for every file before it is used, and files are always read with `torch.load(..., weights_only=True)`.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

ENV_VAR = "ALMA_WEIGHTS_DIR"
Progress = Callable[[int, int], None]
"""progress(bytes_done, bytes_total) during a download; bytes_total is 0 when unknown."""


class WeightsError(RuntimeError):
    """A weight file is missing, unreachable or corrupt; the message says which file and where it was expected."""


@dataclass(frozen=True)
class OfflineCopy:
    """A file under `$ALMA_WEIGHTS_DIR` that can stand in for a download (possibly in another format)."""

    path: str
    sha256: str | None = None


@dataclass(frozen=True)
class WeightFile:
    filename: str
    url: str | None = None
    sha256: str | None = None
    offline: tuple[OfflineCopy, ...] = field(default_factory=tuple)

    def offline_paths(self) -> tuple[OfflineCopy, ...]:
        return self.offline or (OfflineCopy(self.filename, self.sha256),)


def weights_dir() -> Path | None:
    value = os.environ.get(ENV_VAR)
    return Path(value).expanduser() if value else None


def hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(path: Path, sha256: str | None) -> Path:
    if sha256 is not None and sha256_of(path) != sha256:
        raise WeightsError(f"checksum mismatch for {path}: expected sha256 {sha256}. Delete or replace the file.")
    return path


def resolve(weight: WeightFile, progress: Progress | None = None) -> Path:
    """Path of a verified copy of `weight`, downloading it into the torch hub cache if needed."""
    root = weights_dir()
    if root is not None:
        for copy in weight.offline_paths():
            candidate = root / copy.path
            if candidate.is_file():
                return _verified(candidate, copy.sha256)
    cached = hub_dir() / weight.filename
    if cached.is_file():
        return _verified(cached, weight.sha256)
    if weight.url is None:
        raise WeightsError(_missing_message(weight, root, cached, reason="it has no download location"))
    try:
        _download(weight.url, cached, progress)
    except OSError as err:
        raise WeightsError(_missing_message(weight, root, cached, reason=f"the download failed ({err})")) from err
    try:
        return _verified(cached, weight.sha256)
    except WeightsError:
        cached.unlink(missing_ok=True)
        raise


def load_state_dict(weight: WeightFile, progress: Progress | None = None) -> dict[str, Tensor]:
    """The state dict stored in `weight` (tensors only, loaded on the CPU)."""
    path = resolve(weight, progress)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle with objects, a truncated file...
        raise WeightsError(f"cannot read weights from {path}: {err}") from err


def _missing_message(weight: WeightFile, root: Path | None, cached: Path, reason: str) -> str:
    places = [str(root / c.path) for c in weight.offline_paths()] if root else [f"${ENV_VAR} (not set)"]
    source = f" from {weight.url}" if weight.url else ""
    return (f"weights '{weight.filename}' not found and {reason}. Looked in: {', '.join(places)}, {cached}. "
            f"Put the file in one of these places, or connect to the internet to download it{source}.")


def _download(url: str, dest: Path, progress: Progress | None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=30) as response:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
            try:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    tmp.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            except BaseException:
                Path(tmp.name).unlink(missing_ok=True)
                raise
    os.replace(tmp.name, dest)
