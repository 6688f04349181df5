"""The input image: a sample of the model's dataset or an upload (decoded in memory, identified by its sha256),
converted to exactly what the model sees and shown that way."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st
from torch import Tensor

from alma.images import MAX_BYTES, ImageError, load_image, to_model_input, would_invert
from alma.models import ModelInfo
from alma.samples import list_samples, load_sample

from .config import InputRef
from .images import image_png

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"]
SOURCES = ("Sample", "Upload")
POLARITIES = {"auto": None, "invert": True, "as is": False}


@dataclass(frozen=True)
class ChosenInput:
    """The model's input [C, H, W] in [0, 1] and how to find it again."""

    image: Tensor
    ref: InputRef


def input_picker(info: ModelInfo, prefix: str = "") -> ChosenInput | None:
    """Sample or upload, as the model sees it; None (with a message) when there is no usable image."""
    source_key = f"{prefix}source"
    if st.session_state.get(source_key) not in SOURCES:
        st.session_state[source_key] = SOURCES[0]
    source = st.segmented_control("Image", SOURCES, key=source_key, required=True)
    if source == "Upload":
        raw = _uploaded(prefix)
        if raw is None:
            return None
        image, ref = raw
    else:
        image, ref = _sample(info, prefix)
    invert = _polarity(info, image, prefix)
    model_input = to_model_input(image, info, invert=invert)[0]
    return ChosenInput(model_input, InputRef(sample=ref.sample, sha256=ref.sha256, invert=invert))


def _sample(info: ModelInfo, prefix: str) -> tuple[Tensor, InputRef]:
    names = list_samples(info.dataset)
    key = f"{prefix}sample"
    if st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    name = st.selectbox("Sample", names, key=key, format_func=lambda n: n.split("/", 1)[1])
    return load_sample(name), InputRef(sample=name)


def _uploaded(prefix: str) -> tuple[Tensor, InputRef] | None:
    upload = st.file_uploader(f"Upload an image (up to {MAX_BYTES // 2**20} MB)", type=UPLOAD_TYPES,
                              key=f"{prefix}upload",
                              help="Decoded in memory and never stored; PNG keeps every pixel exact. A larger file "
                                   "is refused with its size.")
    if upload is None:
        st.info("Upload an image, or pick a sample.", icon=":material/upload:")
        return None
    data = upload.getvalue()
    try:
        image = load_image(data)
    except ImageError as err:
        st.error(str(err), icon=":material/broken_image:")
        return None
    return image, InputRef(sha256=hashlib.sha256(data).hexdigest())


def _polarity(info: ModelInfo, image: Tensor, prefix: str) -> bool | None:
    """MNIST digits are light on dark: a dark-on-light image is inverted unless the user says otherwise."""
    if info.dataset != "mnist":
        return None
    key = f"{prefix}polarity"
    if st.session_state.get(key) not in POLARITIES:
        st.session_state[key] = "auto"
    auto = "invert" if would_invert(image) else "as is"
    choice = st.segmented_control("Polarity", list(POLARITIES), key=key, required=True,
                                  format_func=lambda c: f"auto ({auto})" if c == "auto" else c,
                                  help="MNIST digits are white on black; a dark digit on light paper is inverted.")
    return POLARITIES[choice]


def model_view(image: Tensor, info: ModelInfo) -> None:
    """The input exactly as the model sees it (enlarged with nearest-neighbour)."""
    channels, height, width = image.shape
    kind = "grayscale" if channels == 1 else "RGB"
    st.image(image_png(image), caption=f"As the model sees it: {width}×{height} {kind}", output_format="PNG")


def set_input(ref: InputRef, prefix: str = "") -> None:
    """Point the input widgets at `ref` (a sample; an upload has to be uploaded again)."""
    st.session_state[f"{prefix}source"] = "Sample" if ref.sample else "Upload"
    if ref.sample:
        st.session_state[f"{prefix}sample"] = ref.sample
    st.session_state[f"{prefix}polarity"] = next(k for k, v in POLARITIES.items() if v == ref.invert)
