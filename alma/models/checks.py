"""Checks a model from outside the registry before it is used: `check_model` raises `ModelCheckError` with one
specific message for the first thing that is wrong."""
from __future__ import annotations

import torch
from torch import Tensor, nn

BATCH = 2
"""Inputs in one check batch: a model exported for batches of one only fails here, with its message."""


class ModelCheckError(ValueError):
    """A model that cannot be attacked as it is; the message says why, in words a user understands."""


def check_model(model: nn.Module, input_shape: tuple[int, int, int], num_classes: int) -> None:
    """`model` (in eval mode) must take [B, *input_shape] inputs in [0, 1], return finite [B, num_classes] logits,
    have gradients with respect to its input, and give the same output twice."""
    shape = (BATCH, *input_shape)
    generator = torch.Generator().manual_seed(0)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    x = torch.rand(shape, generator=generator).to(device).requires_grad_(True)
    try:
        with torch.enable_grad():
            out = model(x)
    except Exception as err:  # any failure of the forward pass
        raise ModelCheckError(f"The model fails on an input of shape {list(shape)} (values in [0, 1]): "
                              f"{type(err).__name__}: {_short(err)}") from err
    _check_output(out, shape, num_classes)
    if not torch.isfinite(out).all():
        raise ModelCheckError("The model returns NaN or infinite logits on an ordinary input in [0, 1].")
    _check_gradient(out, x)
    with torch.no_grad():
        again = model(x.detach())
    if not torch.allclose(again, out.detach(), rtol=1e-5, atol=1e-6):
        raise ModelCheckError("The model gives different outputs for the same input in eval mode (random layers such "
                              "as dropout left on?): an attack needs a deterministic model.")


def _check_output(out: object, shape: tuple[int, ...], num_classes: int) -> None:
    if not isinstance(out, Tensor):
        raise ModelCheckError(f"The model returns {type(out).__name__}, not a tensor of logits [batch, classes].")
    if out.dim() != 2 or out.shape[0] != shape[0]:
        raise ModelCheckError(f"The model returns a tensor of shape {list(out.shape)} for a batch of {shape[0]} "
                              f"inputs; expected logits of shape [{shape[0]}, {num_classes}].")
    if out.shape[1] != num_classes:
        raise ModelCheckError(f"The model returns {out.shape[1]} logits per input, but {num_classes} class names "
                              "were given.")
    if not out.is_floating_point():
        raise ModelCheckError(f"The model returns {out.dtype} values, not floating-point logits.")


def _check_gradient(out: Tensor, x: Tensor) -> None:
    if not out.requires_grad:
        raise ModelCheckError("The model has no gradient with respect to its input (its output does not depend "
                              "differentiably on it), so a gradient-based attack cannot run.")
    (grad,) = torch.autograd.grad(out.float().logsumexp(1).sum(), x, allow_unused=True)
    if grad is None or not torch.isfinite(grad).all() or not grad.abs().sum() > 0:
        raise ModelCheckError("The model has no usable gradient with respect to its input (none, zero everywhere, or "
                              "not finite), so a gradient-based attack cannot run.")


def _short(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + "…"
