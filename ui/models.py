"""Models for the pages, loaded once per (name, device) and shared read-only by every session; the devices; the
model picker (each entry marked with whether it works now)."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import streamlit as st
import torch
from torch import nn

from alma.models import (
    DEFAULT_MODEL,
    ModelInfo,
    ModelUnavailable,
    UnknownModel,
    availability,
    get_info,
    list_models,
    load_model,
    plugin_errors,
    timm_models,
)
from alma.models.availability import USABLE
from alma.models.optional import INSTALL_HINT
from alma.weights import Progress

from .errors import user_message
from .model_upload import session_models, upload_panel

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
        message = user_message(err)
        st.error(message.split(". ")[0].rstrip(".") + ".", icon=":material/error:")
        with st.expander("Details"):
            st.write(message)
        return None
    finally:
        slot.empty()


# --- the model picker ----------------------------------------------------------------------------------------------

DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "imagenet": "ImageNet"}
MARKS = {"ready": "✓", "download": "↓", "package": "⊕", "missing": "✗", "yours": "★"}
LEGEND = "✓ ready offline · ↓ downloads its weights · ⊕ needs a package · ✗ not available · ★ your model"
_MODEL_LIST = "[data-testid='stSelectboxVirtualDropdown']:has([role='listbox'][aria-label='Model'])"
WIDE_OPTIONS = (f"<style>{_MODEL_LIST} {{width: 34rem !important;}} "
                f"{_MODEL_LIST} [role='presentation'] {{width: 100% !important;}}</style>")
"""The picker's list as wide as its longest full names (the sidebar would cut them off)."""


def picker_names(datasets: tuple[str, ...] | None, ready_only: bool, extra: tuple[str, ...] = ()) -> list[str]:
    """The picker's entries: the registry (this session's uploads only), timm suggestions and `extra` names, of
    `datasets`, only those usable now when `ready_only`."""
    own = session_models()
    names = [m.name for m in list_models() if m.origin != "upload" or m.name in own]
    if timm_models.available():
        names += [f"{timm_models.PREFIX}{n}" for n in timm_models.SUGGESTED]
    names += [n for n in extra if n not in names]
    keep = []
    for name in names:
        try:
            info, kind = get_info(name), availability(name, with_size=False).kind
        except (UnknownModel, ModelUnavailable):
            continue
        if (datasets is None or info.dataset in datasets) and (not ready_only or kind in USABLE):
            keep.append(name)
    return keep


def option_label(name: str) -> str:
    info = get_info(name)
    return f"{MARKS[availability(name, with_size=False).kind]} {DATASET_NAMES[info.dataset]} · {info.label}"


def model_picker(prefix: str = "", datasets: tuple[str, ...] | None = None) -> ModelInfo:
    """The model: every entry marked with its availability, a "ready now" filter, any timm model by name and
    "Upload a model"; the chosen model's full name, where it comes from and, when it cannot run now, why."""
    key, ready_key, extra_key = f"{prefix}model", f"{prefix}ready_only", f"{prefix}extra_models"
    st.html(WIDE_OPTIONS)
    ready_only = st.toggle("Ready now only", key=ready_key, help="Only the models that work right now, offline.")
    extra = tuple(st.session_state.get(extra_key, ()))
    if st.session_state.get(key) is not None:
        extra += (st.session_state[key],)
    names = picker_names(datasets, ready_only, extra) or picker_names(datasets, False)
    if st.session_state.get(key) not in names:
        st.session_state[key] = DEFAULT_MODEL if DEFAULT_MODEL in names else names[0]
    name = st.selectbox("Model", names, key=key, format_func=option_label, help=LEGEND)
    info = get_info(name)
    state = availability(name)
    st.markdown(f"**{info.label}**")
    st.caption(f"{state.summary} Training: {info.training}. Source: {info.source}."
               + (f" {info.notes[0].upper()}{info.notes[1:]}." if info.notes else ""))
    if not state.usable_now:
        st.warning(state.summary, icon=":material/cloud_off:")
        with st.expander("Details"):
            st.write(state.detail)
    if errors := plugin_errors():
        with st.expander(f"{len(errors)} model plugin(s) could not be loaded"):
            st.write("\n".join(f"- {e}" for e in errors))
    with st.expander("Any timm model"):
        timm_name_box(prefix)
    with st.expander("Upload a model"):
        upload_panel(prefix)
    return info


def choose_model(prefix: str, name: str) -> None:
    """Selects `name` in the picker of `prefix` (call from a callback, before the picker is drawn)."""
    extra = st.session_state.setdefault(f"{prefix}extra_models", [])
    if name not in extra:
        extra.append(name)
    st.session_state[f"{prefix}model"] = name


def timm_name_box(prefix: str) -> None:
    key = f"{prefix}timm_name"
    if not timm_models.available():
        st.caption(f"Needs the optional package timm: {INSTALL_HINT}")
        return
    st.text_input("timm model name", key=key, on_change=_pick_timm, args=(prefix,),
                  placeholder="e.g. resnet50.a1_in1k", help="Any pretrained model of timm (huggingface.co/timm).")
    if message := st.session_state.get(f"{key}_error"):
        st.error(message)


def _pick_timm(prefix: str) -> None:
    key = f"{prefix}timm_name"
    text = (st.session_state.get(key) or "").strip().removeprefix(timm_models.PREFIX)
    st.session_state.pop(f"{key}_error", None)
    if not text:
        return
    name = timm_models.PREFIX + text
    try:
        get_info(name)
    except (UnknownModel, ModelUnavailable) as err:
        st.session_state[f"{key}_error"] = str(err)
        return
    choose_model(prefix, name)
