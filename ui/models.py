"""Models for the pages, loaded once per (name, device) and shared read-only by every session; the devices."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import streamlit as st
import torch
from torch import nn

from alma.models import ModelInfo, load_model
from alma.weights import Progress

from .errors import user_message

AUTO = "auto"
CAPACITY = 4
SMALL_INPUT = 64 * 64
"""Inputs up to this many pixels run fastest on one CPU thread (measured: threads only add synchronisation)."""


def devices() -> list[str]:
    return [AUTO, "cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]


def resolve_device(choice: str) -> str:
    """"auto" → the first GPU when there is one, else the CPU; a GPU that is not there → the CPU."""
    if choice == AUTO or (choice.startswith("cuda") and not torch.cuda.is_available()):
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    return choice


def default_cpu_threads(info: ModelInfo) -> int:
    _, height, width = info.input_shape
    return 1 if height * width <= SMALL_INPUT else max(1, (os.cpu_count() or 2) // 2)


class ModelStore:
    """Loaded models by (name, device), the least recently used dropped beyond `capacity`; never mutated."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._models: OrderedDict[tuple[str, str], nn.Module] = OrderedDict()
        self._capacity = capacity
        self._guard = threading.Lock()
        self._loading: dict[tuple[str, str], threading.Lock] = {}

    def get(self, name: str, device: str, progress: Progress | None = None) -> nn.Module:
        key = (name, device)
        with self._guard:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # two sessions asking for the same model load it once
            with self._guard:
                if key in self._models:
                    self._models.move_to_end(key)
                    return self._models[key]
            model = load_model(name, device, progress)
            with self._guard:
                self._models[key] = model
                while len(self._models) > self._capacity:
                    self._models.popitem(last=False)
            return model

    def cached(self, name: str, device: str) -> bool:
        with self._guard:
            return (name, device) in self._models


@st.cache_resource(show_spinner=False)
def model_store() -> ModelStore:
    return ModelStore()


def get_model(info: ModelInfo, device: str) -> nn.Module | None:
    """The model on `device`, with a progress bar while its weights download; None (and a message) on failure."""
    store = model_store()
    slot = st.empty()  # always there, so that the page's elements keep their places once the model is cached
    if store.cached(info.name, device):
        return store.get(info.name, device)

    def progress(done: int, total: int) -> None:
        megabytes = f"{done / 2**20:.1f} MB" + (f" of {total / 2**20:.1f} MB" if total else "")
        slot.progress(done / total if total else 0.0, text=f"Downloading the weights of {info.label}: {megabytes}")

    try:
        with st.spinner(f"Loading {info.label}…"):
            return store.get(info.name, device, progress)
    except Exception as err:  # missing weights, optional package, device errors: a message, the page goes on
        st.error(user_message(err))
        return None
    finally:
        slot.empty()
