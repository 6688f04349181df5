"""Count a model's forward and backward passes in batch rows, with hooks that are always removed afterwards."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn


@dataclass
class CallCounts:
    """Rows (samples) that went through the model forwards, and rows whose gradient flowed back through it."""

    forward_rows: int = 0
    backward_rows: int = 0
    active: bool = True


@contextmanager
def count_calls(model: nn.Module, on_forward: Callable[[CallCounts], None] | None = None) -> Iterator[CallCounts]:
    """Counts `model`'s calls while the block runs, on any device; `on_forward(counts)` after each forward (for
    progress; an exception it raises ends the attack).

    A forward hook on the model adds the batch size of each output; when the output is part of a graph, a tensor hook
    on it adds the batch size each time a gradient flows back through it (once per `backward`/`autograd.grad`,
    `retain_graph` included). Gradients that never reach the model's output (e.g. of the distance alone) do not
    count. The hook is removed when the block ends, even when it raises; later gradients are no longer counted.
    """
    counts = CallCounts()

    def on_backward(grad: Tensor) -> None:
        if counts.active:
            counts.backward_rows += _rows(grad)

    def forward_hook(_: nn.Module, __: Any, output: Any) -> None:
        if counts.active and isinstance(output, Tensor):
            counts.forward_rows += _rows(output)
            if output.requires_grad:
                output.register_hook(on_backward)
            if on_forward is not None:
                on_forward(counts)

    handle = model.register_forward_hook(forward_hook)
    try:
        yield counts
    finally:
        counts.active = False
        handle.remove()


def _rows(tensor: Tensor) -> int:
    return tensor.shape[0] if tensor.ndim else 1
