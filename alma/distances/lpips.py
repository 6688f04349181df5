"""LPIPS v0.1 (Zhang et al. 2018) on AlexNet (default) or VGG16 features, with the learned linear weights.

    LPIPS(x, y) = Σ_l mean_{h,w} Σ_c w_lc (x̂_lhwc − ŷ_lhwc)²,   x̂_l = φ_l(s(x)) / (‖φ_l(s(x))‖_channels + 1e-10)

φ_l are the outputs of the 5 ReLU layers ending the lpips package's slices of the torchvision backbone; s maps
[0, 1] to [−1, 1] and then applies the package's ScalingLayer ((v − shift)/scale); w_l are the v0.1 linear weights
shipped in the `lpips` package. This is what `lpips.LPIPS(net=..., version="0.1")(2x − 1, 2y − 1)` computes; only
the weight files of that package are used here, not its code.

Backbones come from `alma.weights`: an offline copy under `$ALMA_WEIGHTS_DIR` first (features-only state dicts in
`lpips/backbones/`, or torchvision's own file), then the torch hub cache, then torchvision's download URL. Each
(net, device, dtype) network is built once, frozen and in eval mode, and shared (`network`).

Grayscale images are replicated to 3 channels. Images whose shorter side is below 32 px (AlexNet needs ≥ 31) are
upsampled bilinearly by the smallest integer factor that reaches 32 (MNIST 28×28 → 56×56) before the network.
"""
from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import AlexNet_Weights, VGG16_Weights, alexnet, vgg16

from ..weights import OfflineCopy, WeightFile, WeightsError, load_state_dict, resolve, sha256_of
from .colorspace import as_rgb
from .registry import Distance, DistanceFn, register
from .safe import safe_norm

MIN_SIDE = 32
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
"""The lpips package's ScalingLayer, applied to inputs in [−1, 1]."""
NORM_EPS = 1e-10
LPIPS_SOURCE = ("https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/"
                "082bb24f84c091ea94de2867d34c4544f68e0963/lpips/weights/v0.1/")


@dataclass(frozen=True)
class Backbone:
    """A torchvision feature extractor cut, as in the lpips package, into slices that each end at a ReLU."""

    constructor: Callable[..., nn.Module]
    weights: WeightFile
    slices: tuple[tuple[int, int], ...]
    linear: WeightFile


def _torchvision_file(url: str, sha256: str, offline_copy: str, offline_sha256: str) -> WeightFile:
    filename = url.rsplit("/", 1)[-1]
    return WeightFile(filename=filename, url=url, sha256=sha256,
                      offline=(OfflineCopy(offline_copy, offline_sha256), OfflineCopy(filename, sha256)))


def _linear_file(net: str, sha256: str) -> WeightFile:
    return WeightFile(filename=f"lpips_v0.1_{net}.pth", url=f"{LPIPS_SOURCE}{net}.pth", sha256=sha256,
                      offline=(OfflineCopy(f"lpips/linear_v0.1/{net}.pth", sha256),))


BACKBONES: dict[str, Backbone] = {
    "alex": Backbone(
        constructor=alexnet,
        weights=_torchvision_file(
            AlexNet_Weights.IMAGENET1K_V1.url, "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02",
            "lpips/backbones/alexnet_features_imagenet1k_v1.pth",
            "62309432e7627f35feea8c895b14ecd3dbd61964306d1bd8cea569bb5ace6ed0"),
        slices=((0, 2), (2, 5), (5, 8), (8, 10), (10, 12)),
        linear=_linear_file("alex", "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"),
    ),
    "vgg": Backbone(
        constructor=vgg16,
        weights=_torchvision_file(
            VGG16_Weights.IMAGENET1K_V1.url, "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
            "lpips/backbones/vgg16_features_imagenet1k_v1.pth",
            "1140ae6b408eb71c383d548cb05595584269d9919cd4fba4a4605201a0cc757d"),
        slices=((0, 4), (4, 9), (9, 16), (16, 23), (23, 30)),
        linear=_linear_file("vgg", "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"),
    ),
}


class LpipsNetwork(nn.Module):
    """The frozen backbone slices and the v0.1 linear weights w_l [C_l] of one LPIPS variant."""

    def __init__(self, slices: list[nn.Module], linear: list[Tensor]) -> None:
        super().__init__()
        self.slices = nn.ModuleList(slices)
        for i, weight in enumerate(linear):
            self.register_buffer(f"lin{i}", weight.reshape(-1))

    @property
    def linear(self) -> list[Tensor]:
        return [getattr(self, f"lin{i}") for i in range(len(self.slices))]

    def features(self, x: Tensor) -> list[Tensor]:
        """φ_l(x) for each slice, x already scaled for the backbone."""
        out = []
        for layer in self.slices:
            x = layer(x)
            out.append(x)
        return out


def _backbone_features(backbone: Backbone) -> nn.Sequential:
    """The torchvision `features` module with ImageNet weights (from a full or a features-only state dict)."""
    state = load_state_dict(backbone.weights)
    features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    module = backbone.constructor(weights=None).features
    try:
        module.load_state_dict(features)
    except RuntimeError as err:
        raise WeightsError(f"'{backbone.weights.filename}' does not hold the expected backbone: {err}") from err
    return module


def _package_file(net: str) -> Path | None:
    """lpips/weights/v0.1/{net}.pth inside the installed lpips package (located without importing it)."""
    spec = importlib.util.find_spec("lpips")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "weights" / "v0.1" / f"{net}.pth"
        if path.is_file():
            return path
    return None


def _linear_weights(backbone: Backbone, net: str) -> list[Tensor]:
    """w_l from the lpips package's files (checksum verified), else via `alma.weights`."""
    path = _package_file(net)
    if path is not None and sha256_of(path) == backbone.linear.sha256:
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:
        state = torch.load(resolve(backbone.linear), map_location="cpu", weights_only=True)
    return [state[f"lin{i}.model.1.weight"] for i in range(len(backbone.slices))]


_NETWORKS: dict[tuple[str, torch.device, torch.dtype], LpipsNetwork] = {}
_LOCK = threading.Lock()


def _canonical(device: torch.device | str) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def network(net: str = "alex", device: torch.device | str = "cpu",
            dtype: torch.dtype = torch.float32) -> LpipsNetwork:
    """The LPIPS network `net` ("alex" or "vgg") on `device`: built on first use, then the same object."""
    if net not in BACKBONES:
        raise ValueError(f"unknown LPIPS backbone {net!r}; available: {', '.join(BACKBONES)}")
    key = (net, _canonical(device), dtype)
    with _LOCK:
        if key not in _NETWORKS:
            backbone = BACKBONES[net]
            features = _backbone_features(backbone)
            slices = [features[start:stop] for start, stop in backbone.slices]
            model = LpipsNetwork(slices, _linear_weights(backbone, net)).to(device=key[1], dtype=dtype)
            _NETWORKS[key] = model.eval().requires_grad_(False)
        return _NETWORKS[key]


def network_input(x: Tensor) -> Tensor:
    """[B, C, H, W] in [0, 1] → RGB, upsampled if the shorter side is below MIN_SIDE (integer factor, bilinear)."""
    x = as_rgb(x)
    side = min(x.shape[-2:])
    if side < MIN_SIDE:
        x = F.interpolate(x, scale_factor=math.ceil(MIN_SIDE / side), mode="bilinear", align_corners=False)
    return x


@cache
def channel_constant(values: tuple[float, ...], device: torch.device, dtype: torch.dtype) -> Tensor:
    """values as a [1, C, 1, 1] tensor, made once per device (no host-to-device copy per attack step)."""
    return torch.tensor(values, dtype=dtype).view(1, -1, 1, 1).to(device)


def _scaled(x: Tensor) -> Tensor:
    shift, scale = (channel_constant(v, x.device, x.dtype) for v in (SHIFT, SCALE))
    return (2 * network_input(x) - 1 - shift) / scale


def _unit(feature: Tensor) -> Tensor:
    return feature / (safe_norm(feature, dim=1, keepdim=True) + NORM_EPS)


def _reference(net: str, reference: Tensor) -> tuple[LpipsNetwork, list[Tensor]]:
    model = network(net, reference.device, reference.dtype)
    with torch.no_grad():
        return model, [_unit(f) for f in model.features(_scaled(reference))]


def _layer_maps(model: LpipsNetwork, reference_units: list[Tensor], x: Tensor) -> list[Tensor]:
    """Σ_c w_lc (x̂ − ŷ)² per layer: [B, h_l, w_l] each."""
    units = [_unit(f) for f in model.features(_scaled(x))]
    return [torch.einsum("bchw,c->bhw", (u - r).square(), w)
            for u, r, w in zip(units, reference_units, model.linear)]


def _build(reference: Tensor, net: str) -> DistanceFn:
    model, reference_units = _reference(net, reference)
    return lambda x_adv: sum(m.mean((1, 2)) for m in _layer_maps(model, reference_units, x_adv))


def lpips_distance(x: Tensor, x_adv: Tensor, net: str = "alex") -> Tensor:
    """LPIPS v0.1 per sample, [B]; inputs [B, C, H, W] in [0, 1]."""
    return _build(x, net)(x_adv)


def upsampled_sum(maps: list[Tensor], size: tuple[int, int]) -> Tensor:
    """Σ_l of per-layer maps [B, h_l, w_l], each upsampled bilinearly to `size`: [B, *size]."""
    return sum(F.interpolate(m[:, None], size=size, mode="bilinear", align_corners=False)[:, 0] for m in maps)


def lpips_map(x: Tensor, x_adv: Tensor, net: str = "alex") -> Tensor:
    """The LPIPS spatial map (the package's spatial=True output): [B, H, W]; its mean approximates LPIPS."""
    model, reference_units = _reference(net, x)
    return upsampled_sum(_layer_maps(model, reference_units, x_adv), tuple(x.shape[-2:]))


EPS = 3e-5
"""Default ε, calibrated (AlexNet) on MNIST, CIFAR-10 and ImageNet models: see docs/distances.md."""

LPIPS_ALEX = register(Distance(
    name="lpips", label="LPIPS (AlexNet)", build=partial(_build, net="alex"), default_eps=EPS,
    pixel_map=partial(lpips_map, net="alex"),
    description="LPIPS v0.1 with AlexNet features and the learned linear weights, as the lpips package computes it. "
                "Grayscale images are replicated to RGB; images under 32 px are upsampled.",
))
LPIPS_VGG = register(Distance(
    name="lpips_vgg", label="LPIPS (VGG16)", build=partial(_build, net="vgg"), default_eps=EPS,
    pixel_map=partial(lpips_map, net="vgg"),
    description="LPIPS v0.1 with VGG16 features and the learned linear weights, as the lpips package computes it.",
))
