"""Models from files: ONNX (converted to a torch module by onnx2torch) or safetensors (a state dict for a named
torchvision or timm architecture). Nothing in a file is executed and nothing is unpickled: a pickle (`torch.save`)
is refused. Every model is checked (`alma.models.checks`) before it is returned.
"""
from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from .checks import ModelCheckError, check_model
from .normalize import normalized
from .optional import require

MAX_BYTES = 500 * 2**20
FORMATS = ("onnx", "safetensors")
_PICKLE_MAGIC = (b"PK\x03\x04", b"\x80")
"""A torch.save zip archive, or a raw pickle (protocol 2 and later)."""


class ModelFileError(ModelCheckError):
    """A model file that cannot be used (unreadable, unsafe, or not fitting its architecture)."""


def read_class_names(data: bytes | str | Path | Sequence[str]) -> tuple[str, ...]:
    """Class names from a list, or from a .txt (one per line) or .json (a list, or {index: name}) file's bytes."""
    if isinstance(data, Path) or (isinstance(data, str) and "\n" not in data and Path(data).is_file()):
        data = Path(data).read_bytes()
    if isinstance(data, (bytes, str)):
        text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
        names = _json_names(text)
        if names is None:
            names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        names = [str(n) for n in data]
    if not names:
        raise ModelFileError("The class names are empty: give one name per line (.txt) or a JSON list.")
    return tuple(names)


def _json_names(text: str) -> list[str] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        try:
            return [str(value[k]) for k in sorted(value, key=int)]
        except (TypeError, ValueError):
            raise ModelFileError("A JSON object of class names needs the class indices as keys, e.g. "
                                 '{"0": "cat", "1": "dog"}.') from None
    raise ModelFileError("The JSON class names must be a list of names or an object {index: name}.")


def detect_format(data: bytes, filename: str | None = None) -> str:
    """"onnx" or "safetensors", from the bytes (the file name is only a hint); refuses pickles."""
    if data.startswith(_PICKLE_MAGIC):
        raise ModelFileError("This is a pickle (a torch.save file), which can run code when loaded, so it is never "
                             "opened. Export the model to ONNX, or save its state dict with safetensors.")
    if len(data) >= 9 and data[8:9] == b"{" and 0 < struct.unpack("<Q", data[:8])[0] <= len(data) - 8:
        return "safetensors"
    suffix = Path(filename).suffix.lower().lstrip(".") if filename else ""
    if suffix == "safetensors":
        raise ModelFileError("This file is not a valid safetensors file (its header is missing or damaged).")
    return "onnx"


def load_model_file(path_or_bytes: str | Path | bytes, *, input_shape: Sequence[int],
                    class_names: Sequence[str] | bytes | str | Path, mean: Sequence[float] | None = None,
                    std: Sequence[float] | None = None, architecture: str | None = None,
                    filename: str | None = None) -> nn.Module:
    """A checked model in eval mode, with frozen parameters, taking [B, *input_shape] inputs in [0, 1] and returning
    logits [B, K], K = the number of class names. `mean` / `std` (per channel) normalise the input first.
    `architecture` (for safetensors): a torchvision or timm model name, optionally "torchvision/" or "timm/"-prefixed.
    Raises `ModelFileError` / `ModelCheckError` with one specific message, `ModelUnavailable` without the extra."""
    if isinstance(path_or_bytes, (str, Path)):
        filename = filename or str(path_or_bytes)
        data = Path(path_or_bytes).read_bytes()
    else:
        data = bytes(path_or_bytes)
    if not data:
        raise ModelFileError("The model file is empty (0 bytes).")
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ModelFileError(f"The input shape must be (channels, height, width), got {shape}.")
    names = read_class_names(class_names)
    if (mean is None) != (std is None):
        raise ModelFileError("Give both the mean and the std, or neither.")
    fmt = detect_format(data, filename)
    if fmt == "safetensors":
        if not architecture:
            raise ModelFileError("A safetensors file holds only weights: name its architecture (a torchvision or "
                                 "timm model, e.g. resnet18).")
        network = _from_safetensors(data, architecture, len(names))
    else:
        network = _from_onnx(data)
    if mean is not None:
        if not len(mean) == len(std) == shape[0]:
            raise ModelFileError(f"The mean and std need one value per input channel ({shape[0]}).")
        if any(s <= 0 for s in std):
            raise ModelFileError("Every std must be positive.")
        network = normalized(network, tuple(map(float, mean)), tuple(map(float, std)))
    network.eval().requires_grad_(False)
    check_model(network, shape, len(names))
    return network


def _from_onnx(data: bytes) -> nn.Module:
    onnx = require("onnx", "An ONNX model")
    onnx2torch = require("onnx2torch", "An ONNX model")
    try:
        proto = onnx.load_from_string(data)
        onnx.checker.check_model(proto)
    except Exception as err:  # a damaged file, or not a model at all
        raise ModelFileError("This file is neither a valid ONNX model nor a safetensors file "
                             f"({type(err).__name__}).") from err
    if not proto.graph.node:
        raise ModelFileError("This file is neither a valid ONNX model nor a safetensors file (no graph).")
    try:
        return onnx2torch.convert(proto)
    except Exception as err:  # an operator onnx2torch cannot convert
        raise ModelFileError(f"The ONNX model could not be converted to PyTorch ({type(err).__name__}: "
                             f"{str(err)[:300]}).") from err


def _from_safetensors(data: bytes, architecture: str, num_classes: int) -> nn.Module:
    safetensors_torch = require("safetensors.torch", "A safetensors model")
    try:
        state_dict = safetensors_torch.load(data)
    except Exception as err:  # a damaged header or truncated data
        raise ModelFileError(f"This safetensors file is damaged or incomplete ({str(err)[:200]}).") from err
    network = build_named_architecture(architecture, num_classes)
    try:
        network.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        raise ModelFileError(f"The weights do not fit the architecture '{architecture}' with {num_classes} classes: "
                             f"{' '.join(str(err).split())[:400]}") from err
    return network


def build_named_architecture(architecture: str, num_classes: int) -> nn.Module:
    """A torchvision or timm network by name ("resnet18", "torchvision/resnet18", "timm/resnet18.a1_in1k"), with
    random weights and `num_classes` outputs."""
    from torchvision import models as tvm

    source, _, name = architecture.rpartition("/")
    if source in ("", "torchvision") and name in tvm.list_models(module=tvm):
        return tvm.get_model(name, weights=None, num_classes=num_classes)
    if source in ("", "timm"):
        timm = require("timm", f"The architecture '{architecture}'")
        if timm.is_model(name):
            return timm.create_model(name, pretrained=False, num_classes=num_classes)
    raise ModelFileError(f"Unknown architecture '{architecture}': give a torchvision classification model (e.g. "
                         "resnet18) or a timm model (e.g. timm/resnet50.a1_in1k).")


@dataclass(frozen=True)
class ModelFile:
    """An uploaded model: its file's bytes and how to use it. Identified by a hash of all of it, never by a name the
    user gave; `register_file` makes it a registry entry named `name`."""

    data: bytes
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    architecture: str | None = None
    format: str = "onnx"

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256(self.data)
        digest.update(json.dumps([self.input_shape, self.class_names, self.mean, self.std, self.architecture])
                      .encode())
        return digest.hexdigest()

    @property
    def name(self) -> str:
        return f"upload-{self.sha256[:12]}"

    def load(self) -> nn.Module:
        return load_model_file(self.data, input_shape=self.input_shape, class_names=self.class_names,
                               mean=self.mean, std=self.std, architecture=self.architecture,
                               filename=f"model.{self.format}")
