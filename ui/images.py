"""Images for the browser: always PNG (JPEG would destroy the perturbation), small ones enlarged with
nearest-neighbour so each pixel stays a sharp square; the amplified difference; per-pixel maps in colour."""
from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import torch
from PIL import Image
from plotly.colors import sample_colorscale, unlabel_rgb
from torch import Tensor

DISPLAY_SIZE = 280
"""Images smaller than this (longer side, in pixels) are enlarged by an integer factor up to about this size."""


def display_scale(height: int, width: int, target: int = DISPLAY_SIZE) -> int:
    return max(1, target // max(height, width))


def to_uint8(image: Tensor) -> np.ndarray:
    """[C, H, W] or [H, W] in [0, 1] → [H, W] or [H, W, 3] uint8 (one channel becomes grayscale)."""
    array = image.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    return array


def png_bytes(array: np.ndarray, scale: int = 1) -> bytes:
    """Lossless PNG of a uint8 [H, W] or [H, W, 3] array, enlarged `scale` times with nearest-neighbour."""
    if scale > 1:
        array = array.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def image_png(image: Tensor, enlarge: bool = True) -> bytes:
    """PNG of an image [C, H, W] in [0, 1], enlarged for display unless `enlarge` is False (downloads)."""
    scale = display_scale(*image.shape[-2:]) if enlarge else 1
    return png_bytes(to_uint8(image), scale)


def amplified_difference(clean: Tensor, adversarial: Tensor) -> tuple[Tensor, float]:
    """0.5 + k·δ with k chosen so that the largest |δ| maps to 0.5 (grey = unchanged); returns it and k."""
    delta = adversarial - clean
    largest = float(delta.abs().max())
    factor = 0.5 / largest if largest > 0 else 1.0
    return (0.5 + factor * delta).clamp(0, 1), factor


@lru_cache(maxsize=4)
def image_panels(clean: Tensor, image: Tensor, distance_map: Tensor | None, distance_label: str,
                 image_caption: str) -> list[tuple[bytes, str]]:
    """PNG and caption of the original, `image` (an adversarial or an iterate), their amplified difference and,
    when given, the per-pixel map [H, W] of the distance."""
    difference, factor = amplified_difference(clean, image)
    panels = [(image_png(clean), "Original"), (image_png(image), image_caption),
              (image_png(difference), f"Difference × {factor:.3g} (grey = unchanged)")]
    if distance_map is not None:
        heatmap, largest = heatmap_png(distance_map)
        panels.append((heatmap, f"{distance_label} per pixel (bright = {largest:.3g})"))
    return panels


def _lookup_table(colorscale: str) -> np.ndarray:
    colors = sample_colorscale(colorscale, np.linspace(0, 1, 256).tolist())
    return np.array([unlabel_rgb(c) for c in colors], dtype=np.float64).round().astype(np.uint8)


def heatmap_png(values: Tensor, colorscale: str = "Viridis") -> tuple[bytes, float]:
    """A map [H, W] ≥ 0 in colour (0 → dark, its maximum → bright), enlarged for display; returns it and the max."""
    values = values.detach().float().cpu()
    largest = float(values.max()) if values.numel() else 0.0
    levels = (values / largest if largest > 0 else torch.zeros_like(values)).clamp(0, 1)
    indices = levels.mul(255).round().to(torch.long).numpy()
    return png_bytes(_lookup_table(colorscale)[indices], display_scale(*values.shape)), largest
