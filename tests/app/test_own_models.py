"""Models of your own in the app: the picker's availability marks, an ONNX upload attacked like the same torch
model, bad model files, the true class of an uploaded image and the warnings about what the model will see."""
from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import torch
from PIL import Image

import alma
from alma.models import ModelFile, discover, get_info, unregister
from alma.samples import draw_digit
from tests.models.own import DIGITS, MNIST_SHAPE, PLUGIN, onnx_bytes, tiny_cnn
from ui.images import image_png
from ui.inputs import upload_warnings

from .conftest import explorer, finish

MNIST_PRESET = "MNIST-like (1×28×28)"


@pytest.fixture(autouse=True)
def _forget_uploaded_models() -> Iterator[None]:
    """Models uploaded in a test are registered in this process: they must not outlive it (the registry's tests
    count the entries)."""
    from alma.models.registry import ENTRIES

    before = set(ENTRIES)
    yield
    for name in set(ENTRIES) - before:
        unregister(name)


def test_marks_with_and_without_the_offline_folder(monkeypatch: pytest.MonkeyPatch, shared_data) -> None:
    at = explorer(steps=30)
    shown = at.selectbox(key="model").options
    assert "✓ MNIST · SmallCNN (ours, regular)" in shown
    assert "✓ CIFAR-10 · ResNet-20 (akamaster)" in shown
    assert "✓ ImageNet · SqueezeNet 1.1 (ONNX Model Zoo weights)" in shown
    assert "↓ ImageNet · ResNet-50 (torchvision)" in shown
    assert "↓ ImageNet · resnet50.a1_in1k" in shown

    monkeypatch.delenv("ALMA_WEIGHTS_DIR")
    at.run()
    shown = at.selectbox(key="model").options
    assert "✓ MNIST · SmallCNN (ours, regular)" in shown and "↓ CIFAR-10 · ResNet-20 (akamaster)" in shown
    assert "✗ ImageNet · SqueezeNet 1.1 (ONNX Model Zoo weights)" in shown
    at.toggle(key="ready_only").set_value(True).run()
    assert all(label[0] in "✓★" for label in at.selectbox(key="model").options)
    at.toggle(key="ready_only").set_value(False).run()

    at.selectbox(key="model").set_value("imagenet-squeezenet1_1-onnx").run()
    assert not at.exception
    assert any(w.value == "Offline only: its weight file is not in ALMA_WEIGHTS_DIR." for w in at.warning)
    assert any(m.value == "**SqueezeNet 1.1 (ONNX Model Zoo weights)**" for m in at.markdown)


def _upload_model(at, data: bytes, filename: str = "model.onnx"):
    at.file_uploader(key="upload_model_file").set_value((filename, data, "application/octet-stream")).run()
    at.selectbox(key="upload_model_preset").set_value(MNIST_PRESET).run()
    return at.button(key="upload_model_use").click().run()


def test_an_onnx_upload_is_attacked_like_the_torch_model() -> None:
    torch_model = tiny_cnn(seed=1)
    data = onnx_bytes(torch_model)
    at = _upload_model(explorer(steps=20), data)
    assert not at.exception and not at.error, [e.value for e in at.error]
    name = ModelFile(data, MNIST_SHAPE, DIGITS).name
    assert at.selectbox(key="model").value == name
    assert at.selectbox(key="model").format_func(name).startswith("★ MNIST · Your onnx model")
    finish(at.button(key="run").click().run(), "explorer_run")
    latest = at.session_state["history"].latest()
    assert latest.config.model == name and get_info(name).origin == "upload"

    x = latest.clean.unsqueeze(0)
    label = torch_model(x).argmax(1)
    assert int(label) == latest.before.label
    threads = torch.get_num_threads()
    torch.set_num_threads(latest.config.cpu_threads)  # as the worker ran it
    try:
        reference = alma.attack(torch_model.requires_grad_(False), x, label, **latest.config.attack.attack_kwargs())
    finally:
        torch.set_num_threads(threads)
    assert latest.success and bool(reference.success[0])
    assert latest.distance == pytest.approx(float(reference.distances[0]), rel=1e-3, abs=1e-4)
    torch.testing.assert_close(latest.adversarial, reference.adv_inputs[0], rtol=0, atol=1e-3)


def test_bad_model_files_get_their_message() -> None:
    buffer = io.BytesIO()
    torch.save(tiny_cnn().state_dict(), buffer)
    at = explorer(steps=20)
    for filename, data, words in (("model.safetensors", buffer.getvalue(), "This is a pickle"),
                                  ("model.onnx", bytes(range(256)) * 8, "neither a valid ONNX model"),
                                  ("model.onnx", onnx_bytes(tiny_cnn(classes=7)), "returns 7 logits per input")):
        _upload_model(at, data, filename)
        assert not at.exception
        assert any(words in e.value for e in at.error), (filename, [e.value for e in at.error])
        assert at.selectbox(key="model").value == "mnist-smallcnn"


def test_true_class_of_an_upload() -> None:
    at = explorer(steps=20)
    at.button_group(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value(("three.png", image_png(1 - draw_digit(3), enlarge=False),
                                              "image/png")).run()
    assert not at.warning
    at.selectbox(key="true_class").set_value(3).run()
    assert not at.warning  # the model gets it right
    at.selectbox(key="true_class").set_value(5).run()
    assert any("The clean prediction is already wrong" in w.value for w in at.warning)
    at.toggle(key="from_true_class").set_value(True).run()
    finish(at.button(key="run").click().run(), "explorer_run")
    latest = at.session_state["history"].latest()
    assert latest.config.input.true_class == 5 and latest.before.label == 3
    assert latest.success and latest.distance == 0.0  # already on the wrong side of the true class


def _png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_warnings_for_a_colour_photo_on_mnist_and_a_tiny_image() -> None:
    mnist, cifar = get_info("mnist-smallcnn"), get_info("cifar10-resnet20")
    photo = torch.rand(3, 40, 40, generator=torch.Generator().manual_seed(0))
    gray = photo.mean(0, keepdim=True).expand(3, -1, -1)
    assert any("colour photo" in w for w in upload_warnings(photo, mnist))
    assert upload_warnings(photo, cifar) == [] and upload_warnings(gray, mnist) == []
    assert any("only 4×6 pixels" in w for w in upload_warnings(torch.rand(3, 6, 4), cifar))
    assert upload_warnings(torch.rand(3, 8, 8), cifar) == []

    at = explorer(steps=20)
    at.button_group(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value(("tiny.png", _png((photo[:, :5, :5] * 255).byte().permute(1, 2, 0)
                                                               .numpy()), "image/png")).run()
    shown = [w.value for w in at.warning]
    assert any("only 5×5 pixels" in w for w in shown) and any("colour photo" in w for w in shown), shown
    assert not at.button(key="run").disabled  # still usable


def test_a_plugin_model_is_in_the_picker(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = tmp_path / "models.py"
    plugin.write_text(PLUGIN)
    monkeypatch.setenv("ALMA_MODELS", f"{plugin}:models")
    discover(force=True)
    try:
        at = explorer(steps=20)
        assert "★ CIFAR-10 · My linear model" in at.selectbox(key="model").options
        at.selectbox(key="model").set_value("my-linear").run()
        assert not at.exception and not at.error
        assert any("Your model, registered by a plugin." in c.value for c in at.caption)
    finally:
        unregister("my-linear")
        monkeypatch.delenv("ALMA_MODELS")
        discover(force=True)
