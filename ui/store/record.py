"""A run as the store keeps it: plain JSON (`meta`: the config and the outcome's figures) and named files (npz,
PNG). Light on purpose (no torch): the store and its writer processes need only this; `codec` makes and reads it."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

FORMAT = 1
TRACE, IMAGES, SNAPSHOTS = "trace.npz", "images.npz", "snapshots.npz"
CLEAN_PNG, ADVERSARIAL_PNG, THUMBNAIL_PNG = "clean.png", "adversarial.png", "thumbnail.png"
REQUIRED_FILES = (TRACE, IMAGES, CLEAN_PNG, ADVERSARIAL_PNG, THUMBNAIL_PNG)
KNOWN_FILES = (*REQUIRED_FILES, SNAPSHOTS)


def new_id() -> str:
    """A random 128-bit run id, as 32 hex digits."""
    return secrets.token_hex(16)


def is_run_id(text: object) -> bool:
    return isinstance(text, str) and len(text) == 32 and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class RunRecord:
    """One run as stored: its id, name, date (Unix seconds) and pin; `meta` (JSON: "config", the run config as
    its download has it, and "outcome") and `files` (name → bytes); `upload`: the bytes of the uploaded image it
    attacked, when kept."""

    id: str
    name: str
    created: float
    pinned: bool
    meta: dict[str, Any]
    files: dict[str, bytes]
    upload: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """Bytes of its files (an upload is shared by the runs that attacked it, and counted once)."""
        return sum(len(data) for data in self.files.values())

    def columns(self) -> dict[str, Any]:
        """What the gallery lists, from `meta`; KeyError or TypeError when `meta` lacks it."""
        config, outcome = self.meta["config"], self.meta["outcome"]
        source = config["input"]
        return {"model": str(config["model"]), "distance": str(config["attack"]["distance"]),
                "input": f"sample {source['sample']}" if source.get("sample") else
                f"upload (sha256 {str(source['sha256'])[:12]}…)",
                "steps": int(outcome["steps"]), "success": bool(outcome["success"]),
                "final_distance": None if outcome["distance"] is None else float(outcome["distance"]),
                "upload_sha256": source.get("sha256")}

    def to_json(self) -> str:
        """The record's own JSON (run.json of a bundle): everything but the files."""
        return json.dumps({"format": FORMAT, "id": self.id, "name": self.name, "created": self.created,
                           "pinned": self.pinned, **self.meta}, indent=2, ensure_ascii=False)
