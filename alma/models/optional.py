"""Optional packages of the `models` extra (timm, onnx, onnx2torch, safetensors): imported when first needed."""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .errors import ModelUnavailable

EXTRA = "models"
INSTALL_HINT = "pip install 'alma[models]'"


def installed(module: str) -> bool:
    """Whether `module` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, purpose: str) -> ModuleType:
    """`module`, imported; `ModelUnavailable` naming the extra when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ModelUnavailable(f"{purpose} needs the optional package {module.split('.')[0]}, which is not "
                               f"installed. Install the '{EXTRA}' extra: {INSTALL_HINT}") from err
