"""What the app and the benchmarks know about a model before building it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    """One registry entry, as shown to users.

    `input_shape` is (C, H, W) of the model's input in [0, 1]; `resize` is the length the shorter side of a photo
    is resized to before the centre crop to (H, W) (None: straight to the crop size; see `alma.images`).
    `bundled` models ship inside the package and need neither a download nor `ALMA_WEIGHTS_DIR`.
    """

    name: str
    label: str
    dataset: str
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    source: str
    training: str
    bundled: bool = False
    notes: str = ""
    resize: int | None = None
