"""Small models of "your own" for the tests: a CNN and its ONNX export, written by the tests themselves."""
from __future__ import annotations

import io
import warnings

import torch
from torch import nn

MNIST_SHAPE = (1, 28, 28)
DIGITS = tuple(str(d) for d in range(10))
PLUGIN = """
import torch
from torch import nn
from alma.models import register

def models():
    def build():
        torch.manual_seed(3)
        return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    register("my-linear", build, dataset="cifar10", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
             label="My linear model", notes="a plugin")
"""
"""A plugin file for `ALMA_MODELS=<file>:models`: registers "my-linear", a linear CIFAR-10 model."""


def tiny_cnn(seed: int = 0, channels: int = 1, classes: int = 10) -> nn.Module:
    """A small random CNN (eval mode): [B, channels, H, W] → [B, classes]."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(7), nn.Flatten(),
                         nn.Linear(64, classes)).eval()


def onnx_bytes(model: nn.Module, input_shape: tuple[int, ...] = MNIST_SHAPE) -> bytes:
    """`model` exported with `torch.onnx.export` (TorchScript exporter), with a dynamic batch axis."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, *input_shape), buffer, dynamo=False, input_names=["x"],
                          output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    return buffer.getvalue()
