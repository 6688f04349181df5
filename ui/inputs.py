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
    """The model's input [C, H, W] in [0, 1] and how to find it again; `true_class`: the class the user says an
    uploaded image shows (None: not given)."""

    image: Tensor
    ref: InputRef
    true_class: int | None = None


def input_picker(info: ModelInfo, prefix: str = "") -> ChosenInput | None:
    """Sample or upload, as the model sees it; None (with a message) when there is no usable image."""
    source_key = f"{prefix}source"
    if st.session_state.get(source_key) not in SOURCES:
        st.session_state[source_key] = SOURCES[0]
    source = st.segmented_control("Image", SOURCES, key=source_key, required=True)
    true_class = None
    if source == "Upload":
        raw = _uploaded(prefix)
        if raw is None:
            return None
        image, ref = raw
        for warning in upload_warnings(image, info):
            st.warning(warning, icon=":material/warning:")
        true_class = _true_class_picker(info, prefix)
    else:
        image, ref = _sample(info, prefix)
    invert = _polarity(info, image, prefix)
    model_input = to_model_input(image, info, invert=invert)[0]
    return ChosenInput(model_input, InputRef(sample=ref.sample, sha256=ref.sha256, invert=invert), true_class)


# --- the true class of an upload, and warnings about what the model will see ------------------------------------

SMALL_SIDE = 8
"""Images with a side under this many pixels get a warning: the model sees mostly interpolation."""
COLOUR_SPREAD = 0.08
"""Mean spread between an image's channels above which it counts as a colour photo (a scanned digit is ~0)."""


def upload_warnings(image: Tensor, info: ModelInfo) -> list[str]:
    """Short warnings about an upload that the model will see badly (it stays usable)."""
    warnings = []
    _, height, width = image.shape
    if min(height, width) < SMALL_SIDE:
        warnings.append(f"This image is only {width}×{height} pixels: scaled to the model's input, it shows mostly "
                        "interpolation.")
    spread = float((image.amax(0) - image.amin(0)).mean()) if image.shape[0] == 3 else 0.0
    if info.input_shape[0] == 1 and spread > COLOUR_SPREAD:
        warnings.append(f"This is a colour photo, and {info.label} is a grayscale {info.dataset.upper()}-like model "
                        "(white digits on black): it will see only the photo's brightness.")
    return warnings


def _true_class_picker(info: ModelInfo, prefix: str) -> int | None:
    key = f"{prefix}true_class"
    options = [None, *range(len(info.class_names))]
    if st.session_state.get(key) not in options:
        st.session_state[key] = None
    return st.selectbox("True class (optional)", options, key=key,
                        format_func=lambda i: "not given" if i is None else f"{i}: {info.class_names[i]}",
                        help="The class this image really shows: you are told when the model gets it wrong.")


def true_class_choice(chosen: ChosenInput, predicted: int, info: ModelInfo, prefix: str = "") -> InputRef:
    """When the clean prediction is already wrong, says so and offers to attack from the true class; returns the
    input reference the run uses (with `true_class` when attacking from it)."""
    if chosen.true_class is None or chosen.true_class == predicted:
        return chosen.ref
    st.warning(f"The clean prediction is already wrong: the model predicts **{info.class_names[predicted]}**, the "
               f"true class is **{info.class_names[chosen.true_class]}**.", icon=":material/report:")
    from_true = st.toggle("Attack from the true class", key=f"{prefix}from_true_class",
                          help="Off: the attack moves away from the predicted class. On: from the true class, "
                               "which the clean image already misses (an adversarial at distance 0).")
    return InputRef(sample=chosen.ref.sample, sha256=chosen.ref.sha256, invert=chosen.ref.invert,
                    true_class=chosen.true_class if from_true else None)


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
    if ref.true_class is not None:
        st.session_state[f"{prefix}true_class"] = ref.true_class
        st.session_state[f"{prefix}from_true_class"] = True
