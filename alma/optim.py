"""Update directions for the perturbation: the paper's RMSProp with momentum, or plain gradient descent.

Both update their state in place in preallocated buffers (no allocation per step, as a captured CUDA graph needs).
"""
from __future__ import annotations

import torch
from torch import Tensor

OPTIMIZERS = ("rmsprop", "sgd")


class RMSProp:
    """RMSProp with momentum; the paper starts the average of squared gradients at v₀ = 1 (not 0) so that the first
    step is not huge.

    v ← a·v + (1 − a)·g²;  b ← m·b + g / (√v + 1e-8);  the step is η·b.
    """

    def __init__(self, like: Tensor, alpha_rms: float, momentum: float, square_avg_init: float = 1.0) -> None:
        self.square_avg = torch.full_like(like, square_avg_init)
        self.buffer = torch.zeros_like(like)
        self._denominator = torch.empty_like(like)
        self.alpha_rms, self.momentum = alpha_rms, momentum

    def direction(self, grad: Tensor) -> Tensor:
        self.square_avg.mul_(self.alpha_rms).addcmul_(grad, grad, value=1 - self.alpha_rms)
        torch.sqrt(self.square_avg, out=self._denominator).add_(1e-8)
        return self.buffer.mul_(self.momentum).addcdiv_(grad, self._denominator)


class SGD:
    """Gradient descent, with heavy-ball momentum m when m > 0: b ← m·b + g; the step is η·b."""

    def __init__(self, like: Tensor, momentum: float) -> None:
        self.buffer = torch.zeros_like(like) if momentum > 0 else None
        self.momentum = momentum

    def direction(self, grad: Tensor) -> Tensor:
        if self.buffer is None:
            return grad
        return self.buffer.mul_(self.momentum).add_(grad)


def make_optimizer(name: str, like: Tensor, alpha_rms: float, momentum: float,
                   square_avg_init: float = 1.0) -> RMSProp | SGD:
    if name == "rmsprop":
        return RMSProp(like, alpha_rms, momentum, square_avg_init)
    if name == "sgd":
        return SGD(like, momentum)
    raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(OPTIMIZERS)}")
