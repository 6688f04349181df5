"""Models from outside the registry: `register` adds one, and plugins are found once per process, on first use of
the registry: the entry points of the group `alma.models` of installed packages, and `ALMA_MODELS`.

`ALMA_MODELS=path/to/models.py[:function]` (several separated by commas) runs that file (the user's own code) and
then calls `function()`, if named; either registers models with `register`. An entry point names a module (whose
import registers) or a function (which is called). A plugin that fails is skipped; `plugin_errors()` says why.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from torch import nn

from .files import ModelFile
from .info import ModelInfo
from .normalize import normalized
from .registry import (
    CIFAR10_CLASSES,
    CIFAR10_SHAPE,
    ENTRIES,
    IMAGENET_CLASSES,
    IMAGENET_SHAPE,
    MNIST_CLASSES,
    MNIST_SHAPE,
    Entry,
)

ENTRY_POINT_GROUP = "alma.models"
ENV_VAR = "ALMA_MODELS"
DATASETS = {"mnist": (MNIST_SHAPE, MNIST_CLASSES, None), "cifar10": (CIFAR10_SHAPE, CIFAR10_CLASSES, None),
            "imagenet": (IMAGENET_SHAPE, IMAGENET_CLASSES, 256)}
"""dataset: (input shape, class names, resize) given to a registered model that names only its dataset."""

log = logging.getLogger(__name__)
_lock = threading.RLock()
_discovered = False
_errors: list[str] = []
_BUILTIN = frozenset(ENTRIES)


def dataset_for_shape(input_shape: Sequence[int]) -> str:
    """The dataset whose samples and preprocessing suit an input shape: grayscale → MNIST-like, small → CIFAR-like."""
    channels, height, width = input_shape
    if channels == 1:
        return "mnist"
    return "cifar10" if max(height, width) <= 64 else "imagenet"


def register(name: str, build: Callable[[], nn.Module], *, dataset: str | None = None,
             input_shape: Sequence[int] | None = None, class_names: Sequence[str] | None = None,
             mean: Sequence[float] | None = None, std: Sequence[float] | None = None, label: str | None = None,
             notes: str = "", source: str = "registered with alma.models.register", training: str = "unknown",
             resize: int | None = None) -> ModelInfo:
    """Adds a model to the registry (and so to the explorer's picker); returns its `ModelInfo`.

    `build()` returns the network (any `nn.Module` mapping [B, C, H, W] to logits [B, K]); when `mean` and `std`
    are given it gets normalised inputs, else inputs in [0, 1]. Give `dataset` ("mnist", "cifar10", "imagenet": its
    input shape, class names and samples), or `input_shape` (C, H, W) and `class_names`, or both to override.
    Registering a name again replaces the earlier entry; built-in names cannot be replaced.
    """
    if not name or name.startswith("timm/") or name.startswith("upload-") or name in _BUILTIN:
        raise ValueError(f"'{name}' cannot be registered: choose a name that is not empty, not a built-in model's "
                         "and does not start with 'timm/' or 'upload-'")
    if dataset is not None and dataset not in DATASETS:
        raise ValueError(f"unknown dataset '{dataset}'; known: {', '.join(DATASETS)} (or give input_shape and "
                         "class_names)")
    default_shape, default_classes, default_resize = DATASETS[dataset] if dataset else (None, None, None)
    shape = tuple(int(v) for v in (input_shape or default_shape or ()))
    classes = tuple(str(c) for c in (class_names or default_classes or ()))
    if len(shape) != 3 or not classes:
        raise ValueError(f"model '{name}': give its dataset, or its input_shape (C, H, W) and class_names")
    if (mean is None) != (std is None):
        raise ValueError(f"model '{name}': give both mean and std, or neither")
    info = ModelInfo(name, label or name, dataset or dataset_for_shape(shape), shape, classes, source, training,
                     notes=notes, resize=resize if resize is not None else default_resize, origin="plugin")

    def builder(_progress: object = None) -> nn.Module:
        network = build()
        return network if mean is None else normalized(network, tuple(mean), tuple(std))

    add_entry(Entry(info, external=builder))
    return info


def add_entry(entry: Entry) -> None:
    """Adds (or replaces) a non-built-in entry."""
    if entry.info.name in _BUILTIN:
        raise ValueError(f"'{entry.info.name}' is a built-in model")
    with _lock:
        ENTRIES[entry.info.name] = entry


def unregister(name: str) -> None:
    """Removes a registered (not built-in) model; unknown names are ignored."""
    if name in _BUILTIN:
        raise ValueError(f"'{name}' is a built-in model")
    with _lock:
        ENTRIES.pop(name, None)


def discover(force: bool = False) -> list[str]:
    """Loads every plugin once per process (again with `force`); returns the errors of those that failed."""
    global _discovered
    with _lock:
        if _discovered and not force:
            return list(_errors)
        _discovered = True
        _errors.clear()
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            _run(f"entry point '{entry_point.name}' ({entry_point.value})", lambda ep=entry_point: _call(ep.load()))
        for spec in filter(None, (s.strip() for s in os.environ.get(ENV_VAR, "").split(","))):
            _run(f"{ENV_VAR}={spec}", lambda spec=spec: load_models_file(spec))
        return list(_errors)


def plugin_errors() -> list[str]:
    """Why plugins failed to load (empty when all loaded)."""
    discover()
    return list(_errors)


def split_spec(spec: str) -> tuple[Path, str | None]:
    """`path/to/models.py[:function]` → (path, function or None)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail.isidentifier():
        return Path(head).expanduser(), tail
    return Path(spec).expanduser(), None


def load_models_file(spec: str) -> None:
    """Runs `path/to/models.py[:function]`: the file, then `function()` when named."""
    path, function = split_spec(spec)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    module_name = "alma_user_models_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec_obj = importlib.util.spec_from_file_location(module_name, path)
    if spec_obj is None or spec_obj.loader is None:
        raise ImportError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec_obj)
    spec_obj.loader.exec_module(module)
    if function is not None:
        if not callable(getattr(module, function, None)):
            raise AttributeError(f"{path} has no function {function}()")
        getattr(module, function)()


def _call(obj: object) -> None:
    if callable(obj):
        obj()


def _run(what: str, load: Callable[[], None]) -> None:
    try:
        load()
    except Exception as err:  # a broken plugin must not take the registry down
        message = f"{what}: {type(err).__name__}: {err}"
        log.warning("model plugin skipped: %s", message)
        _errors.append(message)


def register_file(model_file: ModelFile, label: str | None = None) -> ModelInfo:
    """Registers an uploaded model under `model_file.name` (a hash of its content and settings); the same upload
    registered again is the same entry. The model is loaded and checked when it is first used."""
    shape = model_file.input_shape
    info = ModelInfo(model_file.name, label or f"Your {model_file.format} model ({model_file.sha256[:8]})",
                     dataset_for_shape(shape), shape, model_file.class_names,
                     f"uploaded {model_file.format} file, sha256 {hashlib.sha256(model_file.data).hexdigest()}",
                     "unknown", notes="kept in this session only", origin="upload")
    add_entry(Entry(info, external=lambda _progress=None: model_file.load()))
    return info
