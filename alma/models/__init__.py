"""The model registry: every classifier the explorer offers, with where its weights come from.

`list_models(dataset)` and `get_info(name)` describe them; `load_model(name)` builds one (eval mode, frozen,
inputs in [0, 1], normalisation inside). `DEFAULT_MODEL` is bundled with the package and needs nothing else.
"""
from ..weights import WeightsError
from .errors import ModelUnavailable, UnknownModel
from .info import ModelInfo
from .load import get_info, list_models, load_model
from .registry import DEFAULT_MODEL

__all__ = ["DEFAULT_MODEL", "ModelInfo", "ModelUnavailable", "UnknownModel", "WeightsError", "get_info",
           "list_models", "load_model"]
