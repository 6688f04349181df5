"""`list_models`, `get_info`, `load_model`: what the app and the benchmarks call."""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from ..weights import Progress, WeightsError, load_state_dict
from .errors import UnknownModel
from .info import ModelInfo
from .normalize import normalized
from .plugins import discover
from .registry import ENTRIES, Entry
from .timm_models import is_timm_name, load_timm, timm_model


def list_models(dataset: str | None = None) -> list[ModelInfo]:
    """All registry entries (built-in first, then plugins and uploads), or those of one dataset ("mnist",
    "cifar10", "imagenet"), in registry order. timm models are not listed: any `timm/<name>` can be loaded."""
    discover()
    return [e.info for e in list(ENTRIES.values()) if dataset is None or e.info.dataset == dataset]


def get_entry(name: str) -> Entry:
    discover()
    entry = ENTRIES.get(name)
    if entry is not None:
        return entry
    if is_timm_name(name):
        model = timm_model(name)
        return Entry(model.info, external=partial(load_timm, name))
    raise UnknownModel(f"unknown model '{name}'; known models: {', '.join(ENTRIES)}, or timm/<any timm model>")


def get_info(name: str) -> ModelInfo:
    return get_entry(name).info


def build_architecture(entry: Entry, device: str | torch.device = "meta") -> nn.Module:
    """The entry's bare network (no weights, no normalisation); on the meta device it costs nothing."""
    if entry.architecture is None:
        raise ValueError(f"model '{entry.info.name}' is built by an external package")
    with torch.device(device):
        return entry.architecture()


def load_model(name: str, device: str | torch.device = "cpu", progress: Progress | None = None) -> nn.Module:
    """The model `name` in eval mode with frozen parameters: inputs in [0, 1] (NCHW), outputs logits.

    Raises `WeightsError` when its weights are missing or corrupt, `ModelUnavailable` when it needs an optional
    package that is not installed, `UnknownModel` for an unknown name, `ModelCheckError` for an uploaded model that
    fails its checks. Nothing is cached here.
    """
    entry = get_entry(name)
    if entry.external is not None:
        model = entry.external(progress)
    else:
        state_dict = load_state_dict(entry.weight, progress)
        model = build_architecture(entry)
        try:
            model.load_state_dict(state_dict, strict=True, assign=True)
        except RuntimeError as err:
            raise WeightsError(f"the weights for '{name}' do not fit its architecture: {err}") from err
        if entry.mean is not None:
            model = normalized(model, entry.mean, entry.std)
    model.eval().requires_grad_(False)
    return model.to(device)
