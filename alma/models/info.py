"""What the app and the benchmarks know about a model before building it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    """One registry entry, as shown to users.

    `input_shape` is (C, H, W) of the model's input in [0, 1]; `resize` is the length the shorter side of a photo
    is resized to before the centre crop to (H, W) (None: straight to the crop size; see `alma.images`).
    `bundled` models ship inside the package and need neither a download nor `ALMA_WEIGHTS_DIR`. `origin` says
    where the entry comes from: "builtin" (this registry), "timm", "plugin" (`alma.models.register`) or "upload"
    (`alma.models.register_file`). `dataset` is the dataset whose samples and preprocessing the model uses.
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
    interpolation: str = "bilinear"
    """How a photo is resized for this model ("bilinear" or "bicubic", as torchvision's InterpolationMode)."""
    origin: str = "builtin"
