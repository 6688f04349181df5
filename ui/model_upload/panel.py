"""The "Upload a model" panel: the file, its input shape (presets for ImageNet, CIFAR-10 and MNIST-like models),
its class names, its normalisation and, for safetensors, its architecture. The model is loaded and checked at once;
it then lives in this session, named by a hash of its content (never by the file's name)."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from alma.models import ModelCheckError, ModelFile, ModelUnavailable, register_file
from alma.models.files import detect_format, read_class_names
from alma.models.registry import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    IMAGENET_CLASSES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    MNIST_CLASSES,
)

from .session import session_models

MODEL_TYPES = ["onnx", "safetensors"]
CLASS_TYPES = ["txt", "json"]


@dataclass(frozen=True)
class Preset:
    shape: tuple[int, int, int]
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    normalise: bool
    """Whether its models usually expect normalised inputs (the default of the "Normalise" switch)."""


PRESETS = {
    "ImageNet-like (3×224×224)": Preset((3, 224, 224), IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD, True),
    "CIFAR-10-like (3×32×32)": Preset((3, 32, 32), CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, False),
    "MNIST-like (1×28×28)": Preset((1, 28, 28), MNIST_CLASSES, (0.1307,), (0.3081,), False),
}
CUSTOM = "Custom shape"
DEFAULT_PRESET = PRESETS["ImageNet-like (3×224×224)"]


def upload_panel(prefix: str = "") -> None:
    """The panel; on success the picker of `prefix` selects the uploaded model."""
    key = f"{prefix}upload_model_"
    st.file_uploader("Model file (ONNX, or safetensors)", type=MODEL_TYPES, key=f"{key}file",
                     help="Read in memory: nothing in it is executed, and pickles (torch.save) are refused.")
    if f"{key}normalise" not in st.session_state:
        _apply_preset(key)
    preset_name = st.selectbox("Input", [*PRESETS, CUSTOM], key=f"{key}preset", on_change=_apply_preset,
                               args=(key,))
    preset = PRESETS.get(preset_name, DEFAULT_PRESET)
    if preset_name == CUSTOM:
        cols = st.columns(3)
        for col, label, value in zip(cols, ("Channels", "Height", "Width"), preset.shape):
            col.number_input(label, min_value=1, max_value=4096 if label != "Channels" else 4, value=value, step=1,
                             key=f"{key}{label.lower()}")
    st.file_uploader("Class names (.txt, one a line, or .json)", type=CLASS_TYPES, key=f"{key}classes",
                     help="Optional for the presets (their dataset's classes).")
    st.toggle("Normalise the input (mean / std)", key=f"{key}normalise", help="Off: the model gets pixels in [0, 1].")
    if st.session_state.get(f"{key}normalise"):
        st.text_input("Mean", key=f"{key}mean", help="One value per channel, separated by commas.")
        st.text_input("Std", key=f"{key}std", help="One value per channel, separated by commas.")
    st.text_input("Architecture (safetensors only)", key=f"{key}architecture",
                  placeholder="e.g. resnet18 or timm/resnet50.a1_in1k")
    st.button("Use this model", key=f"{key}use", on_click=_use, args=(prefix, key), icon=":material/upload:")
    if message := st.session_state.get(f"{key}error"):
        st.error(message, icon=":material/error:")


def _apply_preset(key: str) -> None:
    """The normalisation defaults of the chosen preset (its dataset's usual mean and std)."""
    preset = PRESETS.get(st.session_state.get(f"{key}preset"), DEFAULT_PRESET)
    st.session_state[f"{key}normalise"] = preset.normalise
    st.session_state[f"{key}mean"] = ", ".join(f"{v:g}" for v in preset.mean)
    st.session_state[f"{key}std"] = ", ".join(f"{v:g}" for v in preset.std)


def _use(prefix: str, key: str) -> None:
    """Callback: reads the form, loads and checks the model, registers it and selects it."""
    from ..models import choose_model  # the picker that draws this panel

    state = st.session_state
    state.pop(f"{key}error", None)
    try:
        model_file = _model_file(key)
        model_file.load()  # checked here, so that a bad file is refused with its message
    except (ModelCheckError, ModelUnavailable, ValueError) as err:
        state[f"{key}error"] = str(err)
        return
    info = register_file(model_file)
    session_models()[info.name] = model_file
    choose_model(prefix, info.name)


def _model_file(key: str) -> ModelFile:
    state = st.session_state
    upload = state.get(f"{key}file")
    if upload is None:
        raise ValueError("Choose a model file first (ONNX, or safetensors).")
    data = upload.getvalue()
    limit = int(st.get_option("server.maxUploadSize")) * 2**20
    if len(data) > limit:
        raise ValueError(f"The file is larger than the upload limit of {limit / 2**20:.0f} MB.")
    preset_name = state.get(f"{key}preset")
    preset = PRESETS.get(preset_name)
    if preset is None:
        shape = tuple(int(state.get(f"{key}{n}") or 1) for n in ("channels", "height", "width"))
    else:
        shape = preset.shape
    class_upload = state.get(f"{key}classes")
    if class_upload is not None:
        classes = read_class_names(class_upload.getvalue())
    elif preset is not None:
        classes = preset.classes
    else:
        raise ValueError("A custom shape needs its class names (.txt or .json).")
    mean = std = None
    if state.get(f"{key}normalise"):
        mean, std = _numbers(state.get(f"{key}mean"), "mean"), _numbers(state.get(f"{key}std"), "std")
    fmt = detect_format(data, upload.name)
    architecture = (state.get(f"{key}architecture") or "").strip() or None
    return ModelFile(data, shape, classes, mean, std, architecture if fmt == "safetensors" else None, fmt)


def _numbers(text: str | None, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in (text or "").replace(";", ",").split(",") if v.strip())
    except ValueError:
        raise ValueError(f"The {what} must be numbers separated by commas, e.g. 0.5, 0.5, 0.5.") from None
    if not values:
        raise ValueError(f"Give the {what}, one number per channel.")
    return values
