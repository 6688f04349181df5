"""Exceptions in words a user understands; the traceback goes to the server log, never to the page."""
from __future__ import annotations

import logging

import torch

from alma.images import ImageError
from alma.models import ModelUnavailable, UnknownModel, WeightsError

from .config import ConfigError

log = logging.getLogger("alma.app")


def is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()


def user_message(err: BaseException) -> str:
    """One clear sentence or two about `err` (and the full traceback logged on the server)."""
    log.error("shown to the user as a message", exc_info=err)
    if is_out_of_memory(err):
        return ("The device ran out of memory. Run on the CPU (Device in the sidebar), with fewer steps, or with a "
                "smaller model.")
    if isinstance(err, WeightsError):
        return f"The model's weights could not be loaded. {err}"
    if isinstance(err, (ModelUnavailable, UnknownModel, ImageError, ConfigError)):
        return str(err)
    if isinstance(err, ValueError):
        return f"These settings cannot be used: {err}."
    return f"The attack failed ({type(err).__name__}: {err}). Try other settings or another model."
