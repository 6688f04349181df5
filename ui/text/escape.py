"""User-provided strings (file, run, class and model names) made inert where the app shows or writes them."""
from __future__ import annotations

import re
import unicodedata

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_LENGTH = 100


def markdown_text(text: object) -> str:
    """`text` as literal text inside Streamlit markdown: every character markdown, HTML or LaTeX could act on is
    backslash-escaped, and line breaks become spaces (a name like `<img src=x onerror=alert(1)>` stays text)."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def safe_file_name(stem: str, extension: str) -> str:
    """A download name made of `stem` and `extension` that every file system takes: ASCII letters, digits, `.`,
    `_` and `-` only, no leading dot, at most `MAX_NAME_LENGTH` characters before the extension."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE_IN_NAME.sub("_", ascii_stem).strip("._-")[:MAX_NAME_LENGTH].rstrip("._-") or "alma"
    suffix = _UNSAFE_IN_NAME.sub("", extension.lstrip("."))
    return f"{cleaned}.{suffix}" if suffix else cleaned
