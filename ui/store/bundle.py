"""Bundles: selected runs in one zip file (JSON, npz and PNG; nothing pickled) to move them between machines.

Layout: `manifest.json` ({"format": "alma-explorer-runs", "version": 1, "runs": [ids]}) and, per run,
`runs/<id>/run.json`, its files (`trace.npz`, `images.npz`, the PNGs, `snapshots.npz` when kept) and
`runs/<id>/upload` (the uploaded image it attacked, when kept). Every member is deflated, the npz files too: a
truncated bundle must not look like the npz stored last in it. An import checks every run completely before adding
it, adds each in its own transaction, and reports what it skipped and why.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from .codec import decode, run_config
from .record import FORMAT as RECORD_FORMAT
from .record import KNOWN_FILES, RunRecord, is_run_id
from .store import RunStore, StoreError

BUNDLE_FORMAT = "alma-explorer-runs"
BUNDLE_VERSION = 1
MANIFEST, RUN_JSON, UPLOAD = "manifest.json", "run.json", "upload"
MAX_UNCOMPRESSED_BYTES = 4 * 2**30
"""A bundle that claims to unpack to more than this is refused (a zip bomb, or not ours)."""


class BundleError(ValueError):
    """A file that is not a bundle of this explorer, or one too damaged to read; nothing was imported."""


@dataclass
class ImportReport:
    """The runs an import added (id, name) and those it skipped, each with why."""

    imported: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def export_bundle(records: Iterable[RunRecord]) -> bytes:
    """One zip file of `records`."""
    records = list(records)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps({"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION,
                                               "runs": [r.id for r in records]}, indent=2))
        for record in records:
            folder = f"runs/{record.id}/"
            archive.writestr(folder + RUN_JSON, record.to_json())
            for name, data in record.files.items():
                archive.writestr(folder + name, data)
            if record.upload is not None:
                archive.writestr(folder + UPLOAD, record.upload)
    return buffer.getvalue()


def import_bundle(store: RunStore, data: bytes) -> ImportReport:
    """Adds the bundle's runs to `store`; raises `BundleError` when `data` is not a readable bundle at all."""
    archive = _open(data)
    with archive:
        manifest = _manifest(archive)
        names = set(archive.namelist())
        report = ImportReport()
        for run_id in manifest["runs"]:
            try:
                record = _record(archive, names, run_id)
                decode(record)
                if store.record(record.id) is not None:
                    raise ValueError("it is already in the library")
                store.put(record)
            except (ValueError, StoreError) as err:
                report.skipped.append(f"run {str(run_id)[:40]}: {str(err).rstrip('.')}")
                continue
            report.imported.append((record.id, record.name))
    return report


def _open(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise BundleError("This file is not a run bundle: it is not a zip archive, or it is truncated (its end is "
                          "missing). Nothing was imported.") from None
    if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED_BYTES:
        archive.close()
        raise BundleError("This zip unpacks to more than 4 GiB: it is not a run bundle. Nothing was imported.")
    return archive


def _manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BundleError(f"This zip is not a run bundle of this explorer (it has no {MANIFEST}). Nothing was "
                          "imported.") from None
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise BundleError(f"The bundle's {MANIFEST} is damaged ({err}). Nothing was imported.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError("This zip is not a run bundle of this explorer (its manifest is another format). Nothing "
                          "was imported.")
    version = manifest.get("version")
    if not isinstance(version, int) or version > BUNDLE_VERSION:
        raise BundleError(f"This bundle was made by a newer version of the explorer (bundle version {version}; "
                          f"this version reads up to {BUNDLE_VERSION}). Nothing was imported.")
    if not isinstance(manifest.get("runs"), list):
        raise BundleError("The bundle's manifest lists no runs. Nothing was imported.")
    return manifest


def _record(archive: zipfile.ZipFile, names: set[str], run_id: object) -> RunRecord:
    """The run `run_id` of the bundle; ValueError (with why) when anything about it is wrong."""
    if not isinstance(run_id, str) or not is_run_id(run_id):
        raise ValueError("its id is not 32 hex digits")
    folder = f"runs/{run_id}/"
    mine = {name[len(folder):] for name in names if name.startswith(folder)}
    if RUN_JSON not in mine:
        raise ValueError(f"the bundle has no {folder}{RUN_JSON}")
    unknown = mine - {RUN_JSON, UPLOAD, *KNOWN_FILES}
    if unknown:
        raise ValueError(f"unexpected files {', '.join(sorted(unknown))}")
    try:
        contents = {name: archive.read(folder + name) for name in mine}
    except (zipfile.BadZipFile, OSError, EOFError) as err:  # a CRC mismatch, a damaged member
        raise ValueError(f"its files are damaged ({err})") from None
    try:
        meta = json.loads(contents.pop(RUN_JSON))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"its {RUN_JSON} is not JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("id") != run_id:
        raise ValueError(f"its {RUN_JSON} names another run")
    if meta.get("format") != RECORD_FORMAT:
        raise ValueError(f"its {RUN_JSON} is of format {meta.get('format')!r}, this version reads {RECORD_FORMAT}")
    upload = contents.pop(UPLOAD, None)
    try:
        record = RunRecord(id=run_id, name=str(meta["name"]), created=float(meta["created"]),
                           pinned=bool(meta["pinned"]), meta={"config": meta["config"], "outcome": meta["outcome"]},
                           files=contents, upload=upload)
    except (KeyError, TypeError) as err:
        raise ValueError(f"its {RUN_JSON} lacks {err}") from None
    if upload is not None and hashlib.sha256(upload).hexdigest() != run_config(record).input.sha256:
        raise ValueError("its uploaded image is not the one the run attacked (sha256 differs)")
    return record
