"""Every registry entry builds from the offline data, or fails with a clear, specific error."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from alma.models import DEFAULT_MODEL, ModelUnavailable, UnknownModel, WeightsError, get_info, list_models, load_model
from alma.models.load import build_architecture, get_entry
from alma.models.registry import ALL_ENTRIES, ENTRIES

NAMES = [info.name for info in list_models()]
SHAPES = {"mnist": ((1, 28, 28), 10), "cifar10": ((3, 32, 32), 10), "imagenet": ((3, 224, 224), 1000)}


def offline_available(name: str, weights_dir: Path) -> bool:
    weight = get_entry(name).weight
    return weight.bundled or any((weights_dir / copy.path).is_file() for copy in weight.offline_paths())


def test_registry_is_consistent() -> None:
    assert len(ENTRIES) == len(ALL_ENTRIES), "two entries share a name"
    assert {i.dataset for i in list_models()} == set(SHAPES)
    for info in list_models():
        shape, classes = SHAPES[info.dataset]
        assert info.input_shape == shape, info.name
        assert len(info.class_names) == classes and len(set(info.class_names)) == classes, info.name
        assert info.label and info.source and info.training, info.name
        entry = get_entry(info.name)
        if entry.external is None:
            assert entry.architecture is not None and entry.weight is not None, info.name
        else:
            assert entry.architecture is None and entry.weight is None, info.name
        if entry.weight is not None and entry.weight.url is not None:
            assert entry.weight.url.startswith("https://"), info.name
    assert [i.name for i in list_models("cifar10")] == [n for n in NAMES if n.startswith("cifar10-")]
    default = get_info(DEFAULT_MODEL)
    assert default.bundled and default.dataset == "mnist" and default.training == "standard"
    assert {i.name for i in list_models() if i.bundled} == {"mnist-smallcnn", "mnist-smallcnn-pgd-l2"}
    assert get_info("imagenet-resnet50").class_names[285] == "Egyptian cat"


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModel, match="unknown model 'resnet-9000'; known models: mnist-smallcnn"):
        get_info("resnet-9000")
    with pytest.raises(UnknownModel):
        load_model("resnet-9000")


@pytest.mark.parametrize("name", [n for n in NAMES if get_entry(n).external is None])
def test_entry_builds_or_raises_clear_error(name: str, shared_data: Path, no_network: Path) -> None:
    info = get_info(name)
    shape, classes = SHAPES[info.dataset]
    if offline_available(name, shared_data):
        model = load_model(name)
        assert not model.training
        assert not any(p.requires_grad for p in model.parameters())
        assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
        with torch.no_grad():
            logits = model(torch.rand(2, *shape, generator=torch.Generator().manual_seed(0)))
        assert logits.shape == (2, classes) and torch.isfinite(logits).all()
        return
    network = build_architecture(get_entry(name))  # the architecture builds (on the meta device: no memory)
    assert network(torch.empty(1, *shape, device="meta")).shape == (1, classes)
    weight = get_entry(name).weight
    with pytest.raises(WeightsError) as caught:
        load_model(name)
    message = str(caught.value)
    assert f"weights '{weight.filename}' not found" in message
    assert str(no_network / weight.filename) in message
    assert "network disabled for this test" in message and weight.url in message


def test_missing_weights_name_every_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(empty))
    for entry in ALL_ENTRIES:
        if entry.external is not None or entry.weight.bundled:
            continue
        with pytest.raises(WeightsError) as caught:
            load_model(entry.info.name)
        message = str(caught.value)
        for copy in entry.weight.offline_paths():
            assert str(empty / copy.path) in message, entry.info.name
        assert str(no_network / entry.weight.filename) in message, entry.info.name
        reason = "the download failed" if entry.weight.url else "it has no download location"
        assert reason in message, entry.info.name


def test_bundled_models_need_nothing(monkeypatch: pytest.MonkeyPatch, no_network: Path) -> None:
    monkeypatch.delenv("ALMA_WEIGHTS_DIR", raising=False)
    for info in list_models():
        if info.bundled:
            model = load_model(info.name)
            assert model(torch.zeros(1, *info.input_shape)).shape == (1, 10)
    assert not no_network.exists()  # nothing was downloaded or cached


def test_checksum_mismatch_names_the_file(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          no_network: Path) -> None:
    relative = "mnist_models/smallcnn/mnist_regular.pth"
    corrupt = tmp_path / "weights" / relative
    corrupt.parent.mkdir(parents=True)
    data = bytearray((shared_data / relative).read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(tmp_path / "weights"))
    with pytest.raises(WeightsError, match=f"checksum mismatch for {corrupt}: expected sha256 6b93e61c"):
        load_model("mnist-smallcnn-paper")


def test_bundled_checksum_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import alma.weights as weights

    weight = get_entry(DEFAULT_MODEL).weight
    copy = bytearray((weights.BUNDLED_DIR / weight.filename).read_bytes())
    copy[-100] ^= 0x01
    (tmp_path / weight.filename).write_bytes(bytes(copy))
    monkeypatch.setattr(weights, "BUNDLED_DIR", tmp_path)
    with pytest.raises(WeightsError, match="checksum mismatch for .*mnist_smallcnn.pt"):
        load_model(DEFAULT_MODEL)


def test_robustbench_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "robustbench", None)
    monkeypatch.setitem(sys.modules, "robustbench.utils", None)
    for name in ("cifar10-rb-standard", "cifar10-rb-carmon2019unlabeled", "cifar10-rb-augustin2020adversarial"):
        with pytest.raises(ModelUnavailable, match="needs the optional package robustbench, which is not installed. "
                                                   "Install it with: pip install .*robustbench"):
            load_model(name)


@pytest.mark.skipif(importlib.util.find_spec("robustbench") is None, reason="robustbench is not installed")
def test_robustbench_without_checkpoint_is_a_weights_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          no_network: Path) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled for this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(WeightsError, match="Expected the checkpoint at .*cifar10/Linf/Standard.pt"):
        load_model("cifar10-rb-standard")
