"""The one place that finds weight files: bundled, then `ALMA_WEIGHTS_DIR`, then the torch hub cache, then a download.

Every file has a `WeightFile` entry: its name in the torch hub cache, where to download it and its sha256, plus the
relative paths (each with its own sha256) under which an offline copy may sit in `$ALMA_WEIGHTS_DIR`. Weights the
project trained itself ship inside the package (`bundled=True`, in `alma/models/weights/`). Checksums are verified
for every file before it is used; a checksum shorter than 64 hex digits is a prefix, as in torch hub file names.
Files are always read with `torch.load(..., weights_only=True)`; `convert` turns a published checkpoint (a dict
around the state dict, `module.` key prefixes) into a plain state dict.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

ENV_VAR = "ALMA_WEIGHTS_DIR"
BUNDLED_DIR = Path(__file__).resolve().parent / "models" / "weights"
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
class Unwrap:
    """Plain state dict from a published checkpoint: take `obj[key]` when present, then, when some keys start with
    `prefix`, keep only those keys, without the prefix. Already plain state dicts pass through unchanged."""

    key: str | None = "state_dict"
    prefix: str = "module."

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, dict) and self.key is not None and self.key in obj:
            obj = obj[self.key]
        if isinstance(obj, dict) and self.prefix and any(str(k).startswith(self.prefix) for k in obj):
            n = len(self.prefix)
            obj = {k[n:]: v for k, v in obj.items() if str(k).startswith(self.prefix)}
        return obj


@dataclass(frozen=True)
class WeightFile:
    filename: str
    url: str | None = None
    sha256: str | None = None
    offline: tuple[OfflineCopy, ...] = field(default_factory=tuple)
    bundled: bool = False
    """Shipped with the package as `alma/models/weights/<filename>` (weights the project trained itself)."""
    convert: Callable[[Any], Any] | None = None
    """Applied to what `torch.load` returns, e.g. `Unwrap()`; must be harmless on a plain state dict."""

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
    if sha256 is not None and not sha256_of(path).startswith(sha256.lower()):
        expected = f"sha256 {sha256}" if len(sha256) == 64 else f"a sha256 starting with {sha256}"
        raise WeightsError(f"checksum mismatch for {path}: expected {expected}. Delete or replace the file.")
    return path


def resolve(weight: WeightFile, progress: Progress | None = None) -> Path:
    """Path of a verified copy of `weight`, downloading it into the torch hub cache if needed."""
    if weight.bundled and (BUNDLED_DIR / weight.filename).is_file():
        return _verified(BUNDLED_DIR / weight.filename, weight.sha256)
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
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle with objects, a truncated file...
        raise WeightsError(f"cannot read weights from {path} safely (weights_only=True): {err}") from err
    if weight.convert is not None:
        obj = weight.convert(obj)
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise WeightsError(f"{path} does not hold a state dict (a dict of tensors) after conversion")
    return obj


def _missing_message(weight: WeightFile, root: Path | None, cached: Path, reason: str) -> str:
    places = [str(root / c.path) for c in weight.offline_paths()] if root else [f"${ENV_VAR} (not set)"]
    if weight.bundled:
        places.insert(0, str(BUNDLED_DIR / weight.filename))
    hint = f", or connect to the internet to download it from {weight.url}" if weight.url else ""
    return (f"weights '{weight.filename}' not found and {reason}. Looked in: {', '.join(places)}, {cached}. "
            f"Put the file in one of these places{hint}.")


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
