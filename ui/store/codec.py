"""A finished run as a record of plain parts, and back: JSON for the config and the figures of the outcome,
compressed npz (never pickled) for the trace, the exact images and the predictions, PNG for what people look at.

The same parts are the rows of the store and the files of a bundle, so `decode` is also the validation of anything
read back: it checks every part and raises `CodecError` with what is wrong. `save` and `load` put a run in a store
and take it out.
"""
from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Mapping

import numpy as np
import torch
from PIL import Image

from alma import distances
from alma.snapshots import Snapshots
from alma.trace import RECORDED, Trace

from ..config import FORMAT as CONFIG_FORMAT
from ..config import ConfigError, RunConfig
from ..images import png_bytes, to_uint8
from ..outcome import Prediction, RunOutcome
from .record import (
    ADVERSARIAL_PNG,
    CLEAN_PNG,
    IMAGES,
    REQUIRED_FILES,
    SNAPSHOTS,
    THUMBNAIL_PNG,
    TRACE,
    RunRecord,
    is_run_id,
    new_id,
)
from .store import RunStore

SNAPSHOT_BUDGET_BYTES = 8 * 2**20
"""Iterates kept with a saved run (float16): every K-th of those the run kept, with K as small as fits."""
THUMBNAIL_SIZE = 96
_TRACE_EXTRA = ("first_adv_step", "lr_init", "lr_search_failed")
_PREDICTIONS = ("before", "after", "after_8bit")
_OUTCOME_FIELDS = ("success", "distance", "metrics", "steps", "stopped", "num_forwards", "num_backwards",
                   "wall_seconds")


class CodecError(ValueError):
    """A record that cannot be read back as a run; the message says which part and why."""


def run_config(record: RunRecord) -> RunConfig:
    """The record's run config; `ConfigError` when it has none, or an invalid one."""
    config = record.meta.get("config")
    if not isinstance(config, dict):
        raise ConfigError("the run has no config")
    return RunConfig.from_json(json.dumps({**config, "format": CONFIG_FORMAT}))


def default_name(config: RunConfig) -> str:
    return f"{config.model} · {distances.get(config.attack.distance).label} · {config.input.describe()}"


def encode(outcome: RunOutcome, run_id: str | None = None, name: str | None = None, created: float | None = None,
           upload: bytes | None = None) -> RunRecord:
    """The record of `outcome` (a new random id unless given)."""
    config = json.loads(outcome.config.to_json())
    del config["format"]
    values = {name: getattr(outcome, name) for name in _OUTCOME_FIELDS}
    values["distance"] = None if math.isinf(outcome.distance) else outcome.distance  # strict JSON has no inf
    files = {TRACE: _npz(_trace_arrays(outcome.trace)), IMAGES: _npz(_image_arrays(outcome)),
             CLEAN_PNG: png_bytes(to_uint8(outcome.clean)), ADVERSARIAL_PNG: png_bytes(to_uint8(outcome.adversarial)),
             THUMBNAIL_PNG: _thumbnail(outcome.adversarial)}
    if (snapshots := _bounded(outcome.trace.snapshots)) is not None:
        files[SNAPSHOTS] = _npz({"steps": snapshots.steps.numpy(), "images": snapshots.images.numpy()})
    return RunRecord(id=run_id or new_id(), name=name or default_name(outcome.config),
                     created=time.time() if created is None else created, pinned=False,
                     meta={"config": config, "outcome": values}, files=files, upload=upload)


def decode(record: RunRecord) -> RunOutcome:
    """The run of `record`; raises `CodecError` if any part is missing, malformed or inconsistent."""
    if not is_run_id(record.id):
        raise CodecError(f"the run id {record.id!r} is not 32 hex digits")
    missing = [name for name in REQUIRED_FILES if name not in record.files]
    if missing:
        raise CodecError(f"missing {', '.join(missing)}")
    try:
        config = run_config(record)
    except ConfigError as err:
        raise CodecError(f"its config is invalid: {err}") from None
    try:
        values = {name: record.meta["outcome"][name] for name in _OUTCOME_FIELDS}
        images = _load(record.files[IMAGES], (*_PREDICTIONS, "clean", "adversarial", "distance_map"))
        trace = _trace(_load(record.files[TRACE], (*RECORDED, *_TRACE_EXTRA, "start")),
                       _snapshots(record.files.get(SNAPSHOTS)))
        for name in (CLEAN_PNG, ADVERSARIAL_PNG, THUMBNAIL_PNG):
            Image.open(io.BytesIO(record.files[name])).verify()
        outcome = RunOutcome(
            config=config, clean=images["clean"], adversarial=images["adversarial"],
            distance_map=images["distance_map"], before=Prediction(images["before"]),
            after=Prediction(images["after"]), after_8bit=Prediction(images["after_8bit"]),
            success=bool(values["success"]),
            distance=math.inf if values["distance"] is None else float(values["distance"]),
            metrics={str(k): float(v) for k, v in dict(values["metrics"]).items()}, trace=trace,
            steps=int(values["steps"]), stopped=bool(values["stopped"]), num_forwards=int(values["num_forwards"]),
            num_backwards=int(values["num_backwards"]), wall_seconds=float(values["wall_seconds"]))
    except CodecError:
        raise
    except KeyError as err:
        raise CodecError(f"its outcome lacks {err}") from None
    except Exception as err:  # a damaged file or value: whatever json's types, numpy, zipfile or Pillow raise
        raise CodecError(f"a damaged file or value ({type(err).__name__}: {err})") from None
    _check(outcome)
    return outcome


def save(store: RunStore, outcome: RunOutcome, name: str | None = None, upload: bytes | None = None) -> str:
    """Keeps `outcome` in `store` (with the bytes of its uploaded image, when given); returns its new id."""
    record = encode(outcome, name=name, upload=upload)
    store.put(record)
    return record.id


def load(store: RunStore, run_id: str) -> RunOutcome | None:
    """The run `run_id` of `store`, None when there is none; `CodecError` when it is damaged."""
    record = store.record(run_id)
    return None if record is None else decode(record)


def _npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _load(data: bytes, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        missing = [name for name in names if name not in npz.files]
        if missing:
            raise CodecError(f"an npz file lacks {', '.join(missing)}")
        return {name: torch.from_numpy(np.array(npz[name])) for name in names}


def _trace_arrays(trace: Trace) -> dict[str, np.ndarray]:
    arrays = {name: getattr(trace, name).numpy() for name in (*RECORDED, *_TRACE_EXTRA)}
    arrays["start"] = np.array(trace.start)
    return arrays


def _trace(arrays: dict[str, torch.Tensor], snapshots: Snapshots | None) -> Trace:
    start = int(arrays.pop("start"))
    return Trace(start=start, snapshots=snapshots, **arrays)


def _image_arrays(outcome: RunOutcome) -> dict[str, np.ndarray]:
    arrays = {name: getattr(outcome, name).probabilities.numpy() for name in _PREDICTIONS}
    arrays.update(clean=outcome.clean.numpy(), adversarial=outcome.adversarial.numpy(),
                  distance_map=outcome.distance_map.numpy())
    return arrays


def _bounded(snapshots: Snapshots | None) -> Snapshots | None:
    """Every K-th snapshot, K as small as keeps them within `SNAPSHOT_BUDGET_BYTES` (evenly spaced: the scrubber
    reads step k at index k / K)."""
    if snapshots is None or not len(snapshots):
        return None
    per_snapshot = snapshots.images[0].numel() * snapshots.images.element_size()
    if per_snapshot > SNAPSHOT_BUDGET_BYTES:
        return None
    keep_every = math.ceil(len(snapshots) * per_snapshot / SNAPSHOT_BUDGET_BYTES)
    return Snapshots(steps=snapshots.steps[::keep_every].clone(), images=snapshots.images[::keep_every].clone())


def _snapshots(data: bytes | None) -> Snapshots | None:
    if data is None:
        return None
    arrays = _load(data, ("steps", "images"))
    return Snapshots(steps=arrays["steps"], images=arrays["images"])


def _thumbnail(image: torch.Tensor) -> bytes:
    picture = Image.fromarray(np.ascontiguousarray(to_uint8(image)))
    picture.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    return _png(picture)


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _check(outcome: RunOutcome) -> None:
    """Shapes that belong together: one image [C, H, W], its map [H, W], one sample per trace row."""
    clean, trace = outcome.clean, outcome.trace
    if clean.ndim != 3 or clean.shape[0] not in (1, 3) or outcome.adversarial.shape != clean.shape:
        raise CodecError(f"its images have shapes {tuple(clean.shape)} and {tuple(outcome.adversarial.shape)}")
    if tuple(outcome.distance_map.shape) != tuple(clean.shape[1:]):
        raise CodecError("its per-pixel map does not match its images")
    rows = trace.distance.shape
    if len(rows) != 2 or rows[1] != 1 or any(getattr(trace, name).shape != rows for name in RECORDED):
        raise CodecError("its trace columns differ in shape")
    if len({len(getattr(outcome, name).probabilities) for name in _PREDICTIONS}) != 1:
        raise CodecError("its predictions differ in length")
    snapshots = trace.snapshots
    if snapshots is not None and (snapshots.images.ndim != 5 or tuple(snapshots.images.shape[1:]) != (1, *clean.shape)
                                  or len(snapshots.steps) != len(snapshots.images)):
        raise CodecError("its snapshots do not match its images")
