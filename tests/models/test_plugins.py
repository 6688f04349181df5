"""Plugins: `ALMA_MODELS=file.py[:function]` registers models that load like built-in ones; a broken plugin is
skipped with its reason."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from alma.models import (
    ModelFile,
    availability,
    discover,
    get_info,
    list_models,
    load_model,
    plugin_errors,
    register,
    register_file,
    unregister,
)
from alma.models.registry import ENTRIES

from .own import DIGITS, MNIST_SHAPE, PLUGIN, onnx_bytes, tiny_cnn

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = set(ENTRIES)
    yield
    monkeypatch.delenv("ALMA_MODELS", raising=False)
    for name in set(ENTRIES) - before:
        unregister(name)
    discover(force=True)


def test_alma_models_file_registers_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            clean_registry: None) -> None:
    plugin = tmp_path / "models.py"
    plugin.write_text(PLUGIN)
    monkeypatch.setenv("ALMA_MODELS", f"{plugin}:models")
    assert discover(force=True) == []
    info = get_info("my-linear")
    assert info in list_models("cifar10") and info.origin == "plugin" and info.label == "My linear model"
    assert info.input_shape == (3, 32, 32) and info.class_names[0] == "airplane"
    assert availability("my-linear").kind == "yours"
    model = load_model("my-linear")
    torch.manual_seed(3)
    linear = torch.nn.Linear(3 * 32 * 32, 10)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(model(x), linear(((x - 0.5) / 0.25).flatten(1)))
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_broken_plugins_are_skipped_with_their_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      clean_registry: None) -> None:
    plugin = tmp_path / "models.py"
    plugin.write_text(PLUGIN)
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('oops')\n")
    monkeypatch.setenv("ALMA_MODELS", f"{tmp_path / 'absent.py'},{broken},{plugin}:nothing,{plugin}:models")
    errors = discover(force=True)
    assert len(errors) == 3 and errors == plugin_errors()
    assert "absent.py: FileNotFoundError: no such file" in errors[0]
    assert "broken.py: RuntimeError: oops" in errors[1]
    assert "has no function nothing()" in errors[2]
    assert get_info("my-linear").origin == "plugin"  # the good one still loads


def test_register_validates(clean_registry: None) -> None:
    with pytest.raises(ValueError, match="cannot be registered"):
        register("mnist-smallcnn", tiny_cnn, dataset="mnist")
    with pytest.raises(ValueError, match="give its dataset, or its input_shape"):
        register("mine", tiny_cnn)
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        register("mine", tiny_cnn, dataset="svhn")
    info = register("mine", tiny_cnn, input_shape=(1, 28, 28), class_names=DIGITS)
    assert info.dataset == "mnist" and load_model("mine")(torch.zeros(1, *MNIST_SHAPE)).shape == (1, 10)


def test_an_uploaded_file_is_named_by_its_hash(clean_registry: None) -> None:
    upload = ModelFile(onnx_bytes(tiny_cnn()), MNIST_SHAPE, DIGITS)
    info = register_file(upload)
    assert info.name == upload.name and info.name.startswith("upload-") and info.origin == "upload"
    assert register_file(ModelFile(upload.data, MNIST_SHAPE, DIGITS)).name == info.name
    assert ModelFile(upload.data, MNIST_SHAPE, tuple("abcdefghij")).name != info.name
    assert availability(info.name).kind == "yours"
    x = torch.rand(2, *MNIST_SHAPE)
    torch.testing.assert_close(load_model(info.name)(x), tiny_cnn()(x), rtol=1e-5, atol=1e-5)
