"""Count a model's forward and backward passes in batch rows, with hooks that are always removed afterwards.

`watch_calls` is the hook machinery (a forward hook, and a tensor hook on each output that is part of a graph);
`count_calls` counts totals with it, and `alma.compare.budget` counts and records per sample with it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

OnOutput = Callable[[Tensor, Tensor], Callable[[Tensor], None] | None]
"""(model input, model output) -> what to call with each gradient that flows back through that output (or None)."""


@dataclass
class CallCounts:
    """Rows (samples) that went through the model forwards, and rows whose gradient flowed back through it."""

    forward_rows: int = 0
    backward_rows: int = 0
    active: bool = True


@contextmanager
def watch_calls(model: nn.Module, on_output: OnOutput) -> Iterator[None]:
    """Calls `on_output(input, output)` after each forward of `model` while the block runs, and the callback it returns
    each time a gradient flows back through that output (once per `backward`/`autograd.grad`, `retain_graph`
    included; gradients that never reach the model's output do not count). An exception either raises ends the
    attack. The hook is removed when the block ends, even when it raises; later gradients are no longer seen."""
    active = True

    def forward_hook(_: nn.Module, args: Any, output: Any) -> None:
        if not active or not isinstance(output, Tensor):
            return
        on_backward = on_output(args[0] if args else None, output)
        if on_backward is not None and output.requires_grad:
            output.register_hook(lambda grad: on_backward(grad) if active else None)

    handle = model.register_forward_hook(forward_hook)
    try:
        yield
    finally:
        active = False
        handle.remove()


@contextmanager
def count_calls(model: nn.Module, on_forward: Callable[[CallCounts], None] | None = None) -> Iterator[CallCounts]:
    """Counts `model`'s calls while the block runs, on any device, in batch rows (see `watch_calls`);
    `on_forward(counts)` after each forward (for progress; an exception it raises ends the attack)."""
    counts = CallCounts()

    def on_backward(grad: Tensor) -> None:
        counts.backward_rows += _rows(grad)

    def on_output(_: Tensor, output: Tensor) -> Callable[[Tensor], None]:
        counts.forward_rows += _rows(output)
        if on_forward is not None:
            on_forward(counts)
        return on_backward

    try:
        with watch_calls(model, on_output):
            yield counts
    finally:
        counts.active = False


def _rows(tensor: Tensor) -> int:
    return tensor.shape[0] if tensor.ndim else 1
