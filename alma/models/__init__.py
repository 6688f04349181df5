"""The model registry: every classifier the explorer offers, with where its weights come from.

`list_models(dataset)` and `get_info(name)` describe them; `load_model(name)` builds one (eval mode, frozen,
inputs in [0, 1], normalisation inside). `DEFAULT_MODEL` is bundled with the package and needs nothing else.
Your own models: `register` (or a plugin: the entry-point group `alma.models`, or `ALMA_MODELS=file.py[:function]`),
any timm model as `timm/<name>`, and `load_model_file` for ONNX and safetensors files (`register_file` makes an
uploaded one a registry entry). `availability(name)` says whether a model works now, without loading it.
"""
from ..weights import WeightsError
from .availability import Availability, availability
from .checks import ModelCheckError, check_model
from .errors import ModelUnavailable, UnknownModel
from .files import ModelFile, ModelFileError, load_model_file, read_class_names
from .info import ModelInfo
from .load import get_info, list_models, load_model
from .plugins import discover, plugin_errors, register, register_file, unregister
from .registry import DEFAULT_MODEL

__all__ = ["DEFAULT_MODEL", "Availability", "ModelCheckError", "ModelFile", "ModelFileError", "ModelInfo",
           "ModelUnavailable", "UnknownModel", "WeightsError", "availability", "check_model", "discover",
           "get_info", "list_models", "load_model", "load_model_file", "plugin_errors", "read_class_names",
           "register", "register_file", "unregister"]
