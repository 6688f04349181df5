"""timm models by name, offline: weights made by the test (no pretrained download), read from `ALMA_WEIGHTS_DIR`
or from the Hugging Face hub cache layout, then attacked end to end."""
from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

import alma
from alma.models import WeightsError, availability, get_info, load_model
from alma.models.timm_models import SUGGESTED

NAME = "test_resnet.r160_in1k"
"""timm's smallest test network (0.5 M parameters, 160×160 inputs)."""

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def network() -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model(NAME, pretrained=False).eval()


@pytest.fixture
def no_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty hub cache, and every hub download fails at once (as offline)."""
    import huggingface_hub

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled for this test")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(tmp_path / "weights"))
    return tmp_path


def _save(network: torch.nn.Module, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(path))


def test_info_from_the_pretrained_config() -> None:
    info = get_info(f"timm/{NAME}")
    assert info.input_shape == (3, 160, 160) and info.resize == 168 and info.interpolation == "bilinear"
    assert len(info.class_names) == 1000 and info.class_names[285] == "Egyptian cat"
    assert info.origin == "timm" and info.dataset == "imagenet"
    assert get_info("timm/resnet50.a1_in1k").interpolation == "bicubic"
    assert all(timm.is_model(name) for name in SUGGESTED)


def test_from_weights_dir_attacked_end_to_end(network: torch.nn.Module, no_hub: Path) -> None:
    name = f"timm/{NAME}"
    assert availability(name).kind == "download"
    with pytest.raises(WeightsError, match=f"the download from the hub \\(timm/{NAME}\\) failed"):
        load_model(name)
    _save(network, no_hub / "weights" / "timm" / NAME / "model.safetensors")
    assert availability(name).kind == "ready"
    model = load_model(name)
    x = torch.rand(1, 3, 160, 160, generator=torch.Generator().manual_seed(0))
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (network.pretrained_cfg["mean"],
                                                             network.pretrained_cfg["std"]))
    with torch.no_grad():
        torch.testing.assert_close(model(x), network((x - mean) / std))
    label = model(x).argmax(1)
    result = alma.attack(model, x, label, distance="l2", num_steps=20)
    assert result.success.all() and torch.isfinite(result.distances).all()
    assert (model(result.adv_inputs).argmax(1) != label).all()


def test_from_the_hub_cache_layout(network: torch.nn.Module, no_hub: Path) -> None:
    repo = no_hub / "hub" / f"models--timm--{NAME}"
    revision = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    _save(network, repo / "snapshots" / revision / "model.safetensors")
    assert availability(f"timm/{NAME}").kind == "ready"
    x = torch.rand(2, 3, 160, 160)
    with torch.no_grad():
        torch.testing.assert_close(load_model(f"timm/{NAME}")[1](x), network(x))
