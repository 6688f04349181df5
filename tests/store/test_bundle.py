"""Bundles: runs exported on one machine and imported on another are the same runs; anything else is refused or
skipped with the reason, and nothing already stored is touched."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from ui.config import InputRef
from ui.outcome import RunOutcome
from ui.store.bundle import BundleError, export_bundle, import_bundle
from ui.store.codec import encode, load, save
from ui.store.store import RunStore

from .test_roundtrip import assert_same_run


@pytest.fixture
def two_runs(outcome: RunOutcome) -> tuple[RunStore, list[str]]:
    source = RunStore(":memory:")
    data = b"uploaded bytes"
    uploaded = dataclasses.replace(outcome, config=dataclasses.replace(
        outcome.config, input=InputRef(sha256=hashlib.sha256(data).hexdigest())))
    ids = [save(source, outcome, name="sample"), save(source, uploaded, name="upload", upload=data)]
    source.set_pinned(ids[0], True)
    return source, ids


def _bundle(store: RunStore, ids: list[str]) -> bytes:
    return export_bundle(store.record(i) for i in ids)


def _rewrite(bundle: bytes, change) -> bytes:
    """The bundle with each member passed through `change(name, data)` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = change(name, src.read(name))
            if data is not None:
                dst.writestr(name, data)
    return out.getvalue()


def test_exported_runs_import_identical(two_runs, outcome: RunOutcome) -> None:
    source, ids = two_runs
    target = RunStore(":memory:")
    report = import_bundle(target, _bundle(source, ids))
    assert report.imported == [(ids[0], "sample"), (ids[1], "upload")] and not report.skipped
    assert_same_run(load(target, ids[0]), outcome)
    assert target.record(ids[0]).pinned and target.record(ids[1]).upload == b"uploaded bytes"
    again = import_bundle(target, _bundle(source, ids))
    assert not again.imported and all("already in the library" in s for s in again.skipped)


@pytest.mark.parametrize(("data", "message"), [
    (b"hello, not a zip", "not a zip archive, or it is truncated"),
    (None, "no manifest.json"),
])
def test_a_file_that_is_not_a_bundle_is_refused(data: bytes | None, message: str) -> None:
    if data is None:  # a zip of something else
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("slides/notes.txt", "hello")
        data = out.getvalue()
    with pytest.raises(BundleError, match=message):
        import_bundle(RunStore(":memory:"), data)


def test_a_truncated_bundle_is_refused_and_nothing_is_imported(two_runs) -> None:
    source, ids = two_runs
    bundle = _bundle(source, ids)
    target = RunStore(":memory:")
    for cut in (len(bundle) // 2, len(bundle) - 10):
        with pytest.raises(BundleError, match="truncated"):
            import_bundle(target, bundle[:cut])
    assert target.list() == []


def test_a_newer_or_foreign_manifest_is_refused(two_runs) -> None:
    source, ids = two_runs
    bundle = _bundle(source, ids)
    for manifest, message in (({"format": "alma-explorer-runs", "version": 9, "runs": ids}, "newer version"),
                              ({"format": "someone-else", "version": 1}, "another format")):
        changed = _rewrite(bundle, lambda name, data: json.dumps(manifest) if name == "manifest.json" else data)
        with pytest.raises(BundleError, match=message):
            import_bundle(RunStore(":memory:"), changed)


def _pickled_npz(outcome: RunOutcome) -> bytes:
    """The run's images.npz with its `before` probabilities replaced by a pickled object array."""
    with np.load(io.BytesIO(encode(outcome).files["images.npz"])) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["before"] = np.array([{"a": 1}], dtype=object)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


@pytest.mark.parametrize(("member", "data", "reason"), [
    ("trace.npz", b"PK\x03\x04 cut short", "damaged file"),
    ("images.npz", "pickled", "Object arrays cannot be loaded"),  # refused, never unpickled
    ("run.json", b"{not json", "not JSON"),
    ("run.json", "format 2", "is of format 2, this version reads 1"),
    ("run.json", "bad metrics", "damaged file or value"),
    ("adversarial.png", b"\x89PNG\r\n\x1a\n broken", "damaged file"),
    ("upload", b"another image", "sha256 differs"),
    ("evil.pkl", b"\x80\x04K\x01.", "unexpected files evil.pkl"),
    ("thumbnail.png", None, "missing thumbnail.png"),
])
def test_a_damaged_run_is_skipped_with_its_reason_and_the_others_imported(two_runs, outcome: RunOutcome, member: str,
                                                                         data, reason: str) -> None:
    source, ids = two_runs
    bad = ids[1]
    path = f"runs/{bad}/{member}"

    data = _pickled_npz(outcome) if data == "pickled" else data
    meta = json.loads(source.record(bad).to_json())
    if data == "format 2":  # the run.json of a newer version
        data = json.dumps({**meta, "format": 2})
    if data == "bad metrics":
        data = json.dumps({**meta, "outcome": {**meta["outcome"], "metrics": ["l2", "two"]}})

    def change(name: str, original: bytes) -> bytes | None:
        return data if name == path else original

    bundle = _rewrite(_bundle(source, ids), change)
    if member == "evil.pkl":  # a member the run does not have: added
        bundle = _append(bundle, path, data)
    target = RunStore(":memory:")
    report = import_bundle(target, bundle)
    assert report.imported == [(ids[0], "sample")]
    [skipped] = report.skipped
    assert skipped.startswith(f"run {bad}") and reason in skipped, skipped
    assert [s.id for s in target.list()] == [ids[0]]


def _append(bundle: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO(bundle)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr(name, data)
    return out.getvalue()
