"""Weight resolution beyond the offline folder: download (network replaced by a local byte stream), cache,
checksum, conversion of published checkpoint layouts, and refusal of pickles that are not plain tensors."""
from __future__ import annotations

import hashlib
import io
import urllib.request
from pathlib import Path

import pytest
import torch

from alma.models.cifar_resnet import CifarResNet
from alma.weights import Unwrap, WeightFile, WeightsError, load_state_dict


class Payload:
    """Stands for any object a malicious or exotic checkpoint may carry."""


class Response(io.BytesIO):
    """What urlopen returns, serving local bytes."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def published_checkpoint(tmp_path: Path) -> tuple[bytes, dict[str, torch.Tensor]]:
    """A DataParallel-style checkpoint as akamaster publishes it: {'state_dict': {'module.…'}, 'best_prec1': …}."""
    state = CifarResNet(20).state_dict()
    path = tmp_path / "published.th"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "best_prec1": 91.78}, path)
    return path.read_bytes(), state


def serve(monkeypatch: pytest.MonkeyPatch, data: bytes) -> list[str]:
    calls: list[str] = []

    def urlopen(url: str, timeout: float) -> Response:
        calls.append(url)
        return Response(data)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return calls


def test_download_is_verified_converted_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   no_network: Path) -> None:
    data, state = published_checkpoint(tmp_path)
    weight = WeightFile("resnet20-test.th", url="https://example.org/resnet20.th",
                        sha256=hashlib.sha256(data).hexdigest()[:12], convert=Unwrap("state_dict", "module."))
    calls = serve(monkeypatch, data)
    progress: list[tuple[int, int]] = []
    loaded = load_state_dict(weight, lambda done, total: progress.append((done, total)))
    assert calls == ["https://example.org/resnet20.th"]
    assert progress and progress[-1] == (len(data), len(data))
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)
    assert (no_network / "resnet20-test.th").read_bytes() == data
    load_state_dict(weight)  # second time: from the cache, no download
    assert len(calls) == 1
    CifarResNet(20).load_state_dict(loaded, strict=True)


def test_download_with_wrong_checksum_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 no_network: Path) -> None:
    data, _ = published_checkpoint(tmp_path)
    serve(monkeypatch, data)
    weight = WeightFile("bad.th", url="https://example.org/bad.th", sha256="0123456789ab")
    with pytest.raises(WeightsError, match="checksum mismatch for .*bad.th: expected a sha256 starting with 0123"):
        load_state_dict(weight)
    assert not (no_network / "bad.th").exists()


def test_pickled_objects_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: Path) -> None:
    torch.save({"model": {"w": torch.zeros(2)}, "args": Payload()}, tmp_path / "exotic.pt")
    monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="cannot read weights from .*exotic.pt safely"):
        load_state_dict(WeightFile("exotic.pt"))


def test_non_state_dict_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: Path) -> None:
    torch.save({"epoch": 3, "model": {"w": torch.zeros(2)}}, tmp_path / "wrapped.pt")
    monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="does not hold a state dict"):
        load_state_dict(WeightFile("wrapped.pt"))
    assert load_state_dict(WeightFile("wrapped.pt", convert=Unwrap("model", "")))["w"].shape == (2,)


def test_unwrap_keeps_only_the_prefixed_model() -> None:
    """The MadryLab layout: the classifier under 'module.model.', next to the attacker's copy and the normaliser."""
    w = torch.ones(1)
    checkpoint = {"model": {"module.model.conv1.weight": w, "module.attacker.model.conv1.weight": w,
                            "module.normalizer.new_mean": w}, "epoch": 90}
    assert Unwrap("model", "module.model.")(checkpoint) == {"conv1.weight": w}
    assert Unwrap("model", "module.model.")({"conv1.weight": w}) == {"conv1.weight": w}  # already converted
