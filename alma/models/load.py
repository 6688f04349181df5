"""`list_models`, `get_info`, `load_model`: what the app and the benchmarks call."""
from __future__ import annotations

import torch
from torch import nn

from ..weights import Progress, WeightsError, load_state_dict
from .errors import UnknownModel
from .info import ModelInfo
from .normalize import normalized
from .registry import ENTRIES, Entry


def list_models(dataset: str | None = None) -> list[ModelInfo]:
    """All registry entries, or those of one dataset ("mnist", "cifar10", "imagenet"), in registry order."""
    return [e.info for e in ENTRIES.values() if dataset is None or e.info.dataset == dataset]


def get_entry(name: str) -> Entry:
    try:
        return ENTRIES[name]
    except KeyError:
        raise UnknownModel(f"unknown model '{name}'; known models: {', '.join(ENTRIES)}") from None


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
    package that is not installed, `UnknownModel` for an unknown name. Nothing is cached here.
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
