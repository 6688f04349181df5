"""The availability of every entry, with and without `ALMA_WEIGHTS_DIR`, agrees with what the resolver finds."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from alma.models import WeightsError, availability, list_models
from alma.models.load import get_entry
from alma.weights import resolve

HAS_ROBUSTBENCH = importlib.util.find_spec("robustbench") is not None


def _kinds() -> dict[str, str]:
    return {info.name: availability(info.name).kind for info in list_models()}


def _agrees_with_the_resolver(kinds: dict[str, str]) -> None:
    for name, kind in kinds.items():
        entry = get_entry(name)
        if entry.external is not None:
            assert kind == ("download" if HAS_ROBUSTBENCH else "package"), name
            continue
        if kind == "ready":
            resolve(entry.weight)  # found and verified offline
        else:
            assert kind == ("download" if entry.weight.url else "missing"), name
            with pytest.raises(WeightsError):
                resolve(entry.weight)


def test_with_the_offline_folder(shared_data: Path, no_network: Path) -> None:
    kinds = _kinds()
    _agrees_with_the_resolver(kinds)
    assert kinds["mnist-smallcnn"] == kinds["cifar10-resnet20"] == kinds["imagenet-squeezenet1_1-onnx"] == "ready"
    assert kinds["imagenet-resnet50"] == "download"
    assert availability("imagenet-resnet50").summary == "Downloads its weights on first use (about 102 MB)."


def test_without_the_offline_folder(monkeypatch: pytest.MonkeyPatch, no_network: Path) -> None:
    monkeypatch.delenv("ALMA_WEIGHTS_DIR", raising=False)
    kinds = _kinds()
    _agrees_with_the_resolver(kinds)
    assert kinds["mnist-smallcnn"] == kinds["mnist-smallcnn-pgd-l2"] == "ready"
    assert kinds["cifar10-resnet20"] == "download" and kinds["imagenet-squeezenet1_1-onnx"] == "missing"
    assert availability("imagenet-mobilenet-v2-keras").summary == \
        "Offline only: its weight file is not in ALMA_WEIGHTS_DIR."


def test_a_cached_download_is_ready(monkeypatch: pytest.MonkeyPatch, no_network: Path, shared_data: Path) -> None:
    monkeypatch.delenv("ALMA_WEIGHTS_DIR", raising=False)
    entry = get_entry("cifar10-resnet2b-pgd")
    no_network.mkdir(parents=True)
    (no_network / entry.weight.filename).write_bytes(b"not checked here")
    assert availability("cifar10-resnet2b-pgd").kind == "ready"
