"""The reference library's (adv_lib 0.2.8) CIEDE2000 and LPIPS, reproduced only to compare with the paper's numbers.

The paper reports its CIEDE2000 and LPIPS results with these, and both differ from the standard metrics:
- CIEDE2000: its sRGB → CIELAB conversion divides XYZ on the scale Y(white) = 1 by a white point on the scale
  Yn = 100, so white gets L* ≈ 9 and the resulting ΔE00 is about 0.22× the true value. The ΔE00 formula is correct.
- LPIPS: ImageNet mean/std input normalisation, no learned linear weights (the "baseline" LPIPS), and the square
  root of the result: √(Σ_l mean_{h,w} Σ_c (x̂ − ŷ)²) with x̂ = φ_l / max(‖φ_l‖, 1e-12).
Use "ciede2000" and "lpips" for the correct metrics.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .ciede2000 import delta_e00, image_distance_from_lab
from .colorspace import Matrix, Triple, as_rgb, srgb_to_lab
from .lpips import LpipsNetwork, channel_constant, network, network_input, upsampled_sum
from .registry import Distance, DistanceFn, register
from .safe import safe_norm, safe_sqrt

ADV_LIB_MATRIX: Matrix = ((0.4124564, 0.3575761, 0.1804375),
                          (0.2126729, 0.7151522, 0.0721750),
                          (0.0193339, 0.1191920, 0.9503041))
ADV_LIB_WHITE: Triple = (95.0489, 100.0, 108.884)
"""adv_lib's D65 white, on the scale Yn = 100 while its XYZ values are on the scale Y(white) = 1."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def adv_lib_lab(x: Tensor) -> Tensor:
    """adv_lib's (mis-scaled) CIELAB of an sRGB batch in [0, 1]."""
    return srgb_to_lab(as_rgb(x), ADV_LIB_MATRIX, ADV_LIB_WHITE)


def _build_ciede2000(reference: Tensor) -> DistanceFn:
    lab_reference = adv_lib_lab(reference)
    return lambda x_adv: image_distance_from_lab(lab_reference, adv_lib_lab(x_adv))


def _ciede2000_map(x: Tensor, x_adv: Tensor) -> Tensor:
    return delta_e00(adv_lib_lab(x), adv_lib_lab(x_adv))


def _ciede2000_eps(inputs: Tensor) -> float:
    """The paper's ε: 0.05 for CIFAR-10-sized images, 0.03 for ImageNet-sized ones."""
    return 0.05 if max(inputs.shape[-2:]) <= 64 else 0.03


def _unit(feature: Tensor) -> Tensor:
    return feature / safe_norm(feature, dim=1, keepdim=True).clamp(min=1e-12)


def _units(model: LpipsNetwork, x: Tensor) -> list[Tensor]:
    x = network_input(x)
    mean, std = (channel_constant(v, x.device, x.dtype) for v in (IMAGENET_MEAN, IMAGENET_STD))
    return [_unit(f) for f in model.features((x - mean) / std)]


def _layer_maps(model: LpipsNetwork, reference_units: list[Tensor], x: Tensor) -> list[Tensor]:
    return [(u - r).square().sum(1) for u, r in zip(_units(model, x), reference_units)]


def _reference(reference: Tensor) -> tuple[LpipsNetwork, list[Tensor]]:
    model = network("alex", reference.device, reference.dtype)
    with torch.no_grad():
        return model, _units(model, reference)


def _build_lpips(reference: Tensor) -> DistanceFn:
    model, reference_units = _reference(reference)
    return lambda x_adv: safe_sqrt(sum(m.mean((1, 2)) for m in _layer_maps(model, reference_units, x_adv)))


def _lpips_map(x: Tensor, x_adv: Tensor) -> Tensor:
    """Unweighted spatial map of the squared distance, upsampled to the image: [B, H, W]."""
    model, reference_units = _reference(x)
    return upsampled_sum(_layer_maps(model, reference_units, x_adv), tuple(x.shape[-2:]))


CIEDE2000_ADV_LIB = register(Distance(
    name="ciede2000_adv_lib", label="CIEDE2000 (adv_lib scale, ≈0.22×)", build=_build_ciede2000,
    default_eps=_ciede2000_eps, pixel_map=_ciede2000_map,
    description="adv_lib's CIEDE2000, whose sRGB → CIELAB conversion is mis-scaled (white at L* ≈ 9, values about "
                "0.22× the true ΔE00). Only for comparing with the paper's numbers; use 'ciede2000' otherwise.",
))
LPIPS_ADV_LIB = register(Distance(
    name="lpips_adv_lib", label="LPIPS (adv_lib: unweighted, √)", build=_build_lpips, default_eps=0.01,
    pixel_map=_lpips_map,
    description="adv_lib's LPIPS: AlexNet features with ImageNet normalisation, without the learned linear weights, "
                "square-rooted. Only for comparing with the paper's numbers; use 'lpips' otherwise.",
))
