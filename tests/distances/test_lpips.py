"""LPIPS against the lpips package (with the same backbone weights) and published reference values."""
from __future__ import annotations

import json
from pathlib import Path

import lpips as lpips_package
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

from alma.distances import get
from alma.distances import lpips as ours
from alma.weights import OfflineCopy, WeightFile, WeightsError

BACKBONE_FILES = {"alex": "alexnet_features_imagenet1k_v1.pth", "vgg": "vgg16_features_imagenet1k_v1.pth"}


def backbone_state(shared_data: Path, net: str) -> dict[str, torch.Tensor]:
    return torch.load(shared_data / "lpips" / "backbones" / BACKBONE_FILES[net], map_location="cpu",
                      weights_only=True)


@pytest.fixture(scope="module")
def reference_models(shared_data: Path) -> dict[str, lpips_package.LPIPS]:
    """lpips.LPIPS(net, v0.1, its own linear weights) with the shared ImageNet backbone loaded into its slices."""
    models = {}
    for net in ("alex", "vgg"):
        model = lpips_package.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=True, verbose=False)
        slice_of = {}
        for k, (start, stop) in enumerate(ours.BACKBONES[net].slices):
            slice_of.update({i: k + 1 for i in range(start, stop)})
        state = {f"slice{slice_of[int(key.split('.')[1])]}.{key.split('.', 1)[1]}": value
                 for key, value in backbone_state(shared_data, net).items()}
        model.net.load_state_dict(state, strict=True)
        models[net] = model.eval()
    return models


def load_png(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255


def random_pair(shape: tuple[int, ...], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g)
    return x, (x + 0.1 * torch.randn(shape, generator=g)).clamp(0, 1)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_matches_lpips_package_on_random_images(reference_models: dict, net: str) -> None:
    x, y = random_pair((3, 3, 64, 48), seed=0)
    expected = reference_models[net](x, y, normalize=True).flatten()
    torch.testing.assert_close(ours.lpips_distance(x, y, net), expected, atol=1e-5, rtol=0)
    distance = get("lpips" if net == "alex" else "lpips_vgg").build(x)
    torch.testing.assert_close(distance(y), expected, atol=1e-5, rtol=0)


def test_matches_lpips_package_on_real_images(reference_models: dict, cifar10_test: tuple) -> None:
    x = cifar10_test[0][:4]
    y = (x + 0.03 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    for net in ("alex", "vgg"):
        expected = reference_models[net](x, y, normalize=True).flatten()
        torch.testing.assert_close(ours.lpips_distance(x, y, net), expected, atol=1e-5, rtol=0)


def test_reference_values(shared_data: Path) -> None:
    root = shared_data / "lpips" / "reference"
    values = json.loads((root / "reference_values.json").read_text())
    for name, expected in values["iqa_pytorch_calibration"]["lpips_alex_v0.1"].items():
        folder = root / "iqa_pytorch_calibration"
        got = ours.lpips_distance(load_png(folder / f"ref_{name}.png"), load_png(folder / f"dist_{name}.png"))
        assert got.item() == pytest.approx(expected, abs=1e-4), name
    folder = root / "perceptualsimilarity_examples"
    reference = load_png(folder / "ex_ref.png")
    for net in ("alex", "vgg"):
        for name, expected in values["perceptualsimilarity_examples"][net].items():
            got = ours.lpips_distance(reference, load_png(folder / f"{name}.png"), net)
            assert got.item() == pytest.approx(expected, abs=1e-4), (net, name)


def test_spatial_map_matches_lpips_package(reference_models: dict) -> None:
    spatial = lpips_package.LPIPS(net="alex", version="0.1", pnet_rand=True, spatial=True, verbose=False)
    spatial.load_state_dict(reference_models["alex"].state_dict())
    x, y = random_pair((2, 3, 40, 36), seed=2)
    expected = spatial.eval()(x, y, normalize=True)[:, 0]
    torch.testing.assert_close(get("lpips").pixel_map(x, y), expected, atol=1e-6, rtol=1e-5)


def test_grayscale_and_small_images(reference_models: dict) -> None:
    x, y = random_pair((2, 1, 28, 28), seed=3)
    upsampled = [F.interpolate(t.repeat(1, 3, 1, 1), size=(56, 56), mode="bilinear", align_corners=False)
                 for t in (x, y)]
    expected = reference_models["alex"](*upsampled, normalize=True).flatten()
    torch.testing.assert_close(ours.lpips_distance(x, y), expected, atol=1e-5, rtol=0)
    assert get("lpips").pixel_map(x, y).shape == (2, 28, 28)


def test_batched_equals_per_image_and_gradients_are_finite() -> None:
    x, y = random_pair((3, 3, 32, 32), seed=4)
    y[0] = x[0]
    distance = get("lpips").build(x)
    per_image = torch.cat([get("lpips").build(x[i:i + 1])(y[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(distance(y), per_image, atol=1e-7, rtol=1e-6)
    black = torch.zeros(1, 3, 32, 32, requires_grad=True)  # zero features: the unit-normalisation's norm is 0
    for reference, point in ((x, y.clone().requires_grad_(True)), (torch.zeros(1, 3, 32, 32), black)):
        grad, = torch.autograd.grad(get("lpips").build(reference)(point).sum(), point)
        assert torch.isfinite(grad).all()


def test_network_is_built_once_frozen_and_in_eval_mode() -> None:
    first = ours.network("alex", "cpu")
    assert ours.network("alex", torch.device("cpu")) is first
    assert not first.training and not any(p.requires_grad for p in first.parameters())
    x, y = random_pair((1, 3, 32, 32), seed=5)
    get("lpips").build(x)(y)
    assert ours.network("alex") is first


def test_loads_full_torchvision_state_dicts(shared_data: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    full = torchvision.models.alexnet(weights=None).state_dict()  # features.* and classifier.*, like the hub file
    full.update(backbone_state(shared_data, "alex"))  # keys features.N.weight/bias
    torch.save(full, tmp_path / "full.pth")
    monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(tmp_path))
    backbone = ours.Backbone(torchvision.models.alexnet, WeightFile("full.pth", offline=(OfflineCopy("full.pth"),)),
                             ours.BACKBONES["alex"].slices, ours.BACKBONES["alex"].linear)
    features = ours._backbone_features(backbone)
    for key, value in backbone_state(shared_data, "alex").items():
        assert torch.equal(features.state_dict()[key.removeprefix("features.")], value)


def test_missing_weights_raise_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "weights").mkdir()
    (tmp_path / "torch").mkdir()
    monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(ours, "_NETWORKS", {})

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("no network in this test")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(WeightsError, match="alexnet-owt-7be5be79.pth") as error:
        ours.network("alex")
    assert "alexnet_features_imagenet1k_v1.pth" in str(error.value)
    x, y = random_pair((1, 3, 32, 32), seed=6)
    with pytest.raises(WeightsError):
        get("lpips").build(x)
