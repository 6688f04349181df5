"""Where the run store lives: `$ALMA_STORE` when set (a file path, or `:memory:`), else `runs.sqlite` in the user's
data directory (`$XDG_DATA_HOME/alma-explorer`, `~/.local/share/alma-explorer` on Linux,
`~/Library/Application Support/alma-explorer` on macOS, `%LOCALAPPDATA%\\alma-explorer` on Windows)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "ALMA_STORE"
APP_DIR = "alma-explorer"
FILE_NAME = "runs.sqlite"
MEMORY = ":memory:"


def default_path() -> Path:
    """The per-user default location of the store file."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_DIR / FILE_NAME


def store_path() -> str:
    """`$ALMA_STORE`, or the default path."""
    return os.environ.get(ENV) or str(default_path())
