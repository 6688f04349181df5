"""Model files: ONNX and safetensors load into models equal to the originals; every failure has its message."""
from __future__ import annotations

import io
import sys

import pytest
import torch
from safetensors.torch import save as save_safetensors
from torch import nn
from torchvision import models as tvm

import alma
from alma.models import ModelCheckError, ModelFileError, ModelUnavailable, check_model, load_model_file
from alma.models.files import read_class_names

from .own import DIGITS, MNIST_SHAPE, onnx_bytes, tiny_cnn

pytestmark = pytest.mark.usefixtures("one_thread")


def test_onnx_model_equals_the_torch_model_and_attacks_alike() -> None:
    torch_model = tiny_cnn()
    model = load_model_file(onnx_bytes(torch_model), input_shape=MNIST_SHAPE, class_names=DIGITS)
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    x = torch.rand(4, *MNIST_SHAPE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(x), torch_model(x), rtol=1e-5, atol=1e-5)
    labels = torch_model(x).argmax(1)
    ours = alma.attack(model, x, labels, distance="l2", num_steps=30, record=False)
    reference = alma.attack(torch_model.requires_grad_(False), x, labels, distance="l2", num_steps=30, record=False)
    assert ours.success.all() and reference.success.all()
    torch.testing.assert_close(ours.distances, reference.distances, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(ours.adv_inputs, reference.adv_inputs, rtol=0, atol=1e-3)


def test_normalisation_is_folded_in() -> None:
    torch_model = tiny_cnn(channels=3)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    model = load_model_file(onnx_bytes(torch_model, (3, 32, 32)), input_shape=(3, 32, 32),
                            class_names=[f"c{i}" for i in range(10)], mean=mean, std=std)
    x = torch.rand(2, 3, 32, 32)
    expected = torch_model((x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1))
    torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)


def test_safetensors_for_a_torchvision_architecture() -> None:
    torch.manual_seed(0)
    network = tvm.mobilenet_v3_small(num_classes=10).eval()
    data = save_safetensors({k: v.contiguous() for k, v in network.state_dict().items()})
    model = load_model_file(data, input_shape=(3, 32, 32), class_names=DIGITS, architecture="mobilenet_v3_small")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), network(x))
    torchvision_prefixed = load_model_file(data, input_shape=(3, 32, 32), class_names=DIGITS,
                                           architecture="torchvision/mobilenet_v3_small")
    torch.testing.assert_close(torchvision_prefixed(x), network(x))
    with pytest.raises(ModelFileError, match="do not fit the architecture 'resnet18' with 10 classes: .*Missing key"):
        load_model_file(data, input_shape=(3, 32, 32), class_names=DIGITS, architecture="resnet18")
    with pytest.raises(ModelFileError, match="holds only weights: name its architecture"):
        load_model_file(data, input_shape=(3, 32, 32), class_names=DIGITS)
    with pytest.raises(ModelFileError, match="Unknown architecture 'no_such_net'"):
        load_model_file(data, input_shape=(3, 32, 32), class_names=DIGITS, architecture="no_such_net")


class _Reshaped(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.net, self.fn = tiny_cnn(), fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.net(x), x)


@pytest.mark.parametrize(("fn", "message"), [
    (lambda y, x: y.unsqueeze(-1), r"returns a tensor of shape \[2, 10, 1\] for a batch of 2 inputs; expected "
                                   r"logits of shape \[2, 10\]"),
    (lambda y, x: y[:, :7], "returns 7 logits per input, but 10 class names were given"),
    (lambda y, x: y + float("nan"), "returns NaN or infinite logits"),
    (lambda y, x: y.detach(), "has no gradient with respect to its input"),
    (lambda y, x: y * 0 + x.sum() * 0, "has no usable gradient with respect to its input"),
    (lambda y, x: y + torch.rand_like(y), "gives different outputs for the same input in eval mode"),
    (lambda y, x: (y, y), "returns tuple, not a tensor of logits"),
    (lambda y, x: y.view(7, -1), "fails on an input of shape \\[2, 1, 28, 28\\]"),
])
def test_every_check_has_its_message(fn, message: str) -> None:
    with pytest.raises(ModelCheckError, match=message):
        check_model(_Reshaped(fn).eval().requires_grad_(False), MNIST_SHAPE, 10)


def test_file_failures_have_their_messages() -> None:
    wrong_k = onnx_bytes(tiny_cnn(classes=7))
    with pytest.raises(ModelCheckError, match="returns 7 logits per input, but 10 class names were given"):
        load_model_file(wrong_k, input_shape=MNIST_SHAPE, class_names=DIGITS)
    with pytest.raises(ModelCheckError, match=r"fails on an input of shape \[2, 3, 28, 28\]"):
        load_model_file(onnx_bytes(tiny_cnn()), input_shape=(3, 28, 28), class_names=DIGITS)
    corrupt = bytes(range(256)) * 40
    with pytest.raises(ModelFileError, match="neither a valid ONNX model nor a safetensors file"):
        load_model_file(corrupt, input_shape=MNIST_SHAPE, class_names=DIGITS)
    truncated = onnx_bytes(tiny_cnn())[:300]
    with pytest.raises(ModelFileError, match="neither a valid ONNX model nor a safetensors file"):
        load_model_file(truncated, input_shape=MNIST_SHAPE, class_names=DIGITS)
    damaged = bytearray(save_safetensors({"w": torch.zeros(100)}))
    damaged = bytes(damaged[:-40])
    with pytest.raises(ModelFileError, match="safetensors file is damaged or incomplete"):
        load_model_file(damaged, input_shape=MNIST_SHAPE, class_names=DIGITS, architecture="resnet18")
    with pytest.raises(ModelFileError, match="empty"):
        load_model_file(b"", input_shape=MNIST_SHAPE, class_names=DIGITS)


def test_a_pickle_disguised_as_safetensors_is_never_opened(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    torch.save(tiny_cnn().state_dict(), buffer)
    disguised = tmp_path / "model.safetensors"
    disguised.write_bytes(buffer.getvalue())
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called on an upload"))
    with pytest.raises(ModelFileError, match="This is a pickle .* never opened"):
        load_model_file(disguised, input_shape=MNIST_SHAPE, class_names=DIGITS, architecture="resnet18")
    raw_pickle = b"\x80\x04\x95" + b"\x00" * 40
    with pytest.raises(ModelFileError, match="This is a pickle"):
        load_model_file(raw_pickle, input_shape=MNIST_SHAPE, class_names=DIGITS)


def test_class_names_from_txt_json_and_lists() -> None:
    assert read_class_names(b"cat\ndog\n\n") == ("cat", "dog")
    assert read_class_names(b'["cat", "dog"]') == ("cat", "dog")
    assert read_class_names(b'{"1": "dog", "0": "cat"}') == ("cat", "dog")
    assert read_class_names(["a", "b"]) == ("a", "b")
    with pytest.raises(ModelFileError, match="class indices as keys"):
        read_class_names(b'{"cat": 0}')
    with pytest.raises(ModelFileError, match="empty"):
        read_class_names(b"\n\n")


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    data = onnx_bytes(tiny_cnn())
    monkeypatch.setitem(sys.modules, "onnx2torch", None)
    with pytest.raises(ModelUnavailable, match="needs the optional package onnx2torch, which is not installed. "
                                               r"Install the 'models' extra: pip install 'alma\[models\]'"):
        load_model_file(data, input_shape=MNIST_SHAPE, class_names=DIGITS)
