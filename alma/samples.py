"""Sample inputs that work offline without shipping third-party data.

Names are "<dataset>/<sample>". Photos come from scikit-image's bundled data at run time (public-domain / CC0
images inside its wheel). MNIST digits are drawn by the project: pen strokes rendered with PIL, blurred, then
scaled into a 20×20 box and centred by centre of mass in 28×28, like MNIST's own preprocessing. Every sample is
returned like `alma.images.load_image`: float32 [3, H, W] RGB in [0, 1].
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from skimage import data as skdata
from torch import Tensor

from .images import to_model_input
from .models import DEFAULT_MODEL, get_info

Stroke = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 40) -> Stroke:
    """Points of an elliptic arc; angles in degrees, 0 = right, 90 = down (image coordinates)."""
    t = np.deg2rad(np.linspace(start, stop, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


# Each digit: pen strokes in a unit box (x to the right, y down), written the way MNIST writers often do.
DIGIT_STROKES: dict[int, list[Stroke]] = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, 0, 360)],
    1: [[(0.58, 0.05), (0.42, 0.95)]],
    2: [_arc(0.5, 0.3, 0.3, 0.25, 190, 380) + [(0.15, 0.95), (0.88, 0.95)]],
    3: [_arc(0.48, 0.27, 0.27, 0.22, 200, 450), _arc(0.48, 0.71, 0.3, 0.24, 270, 520)],
    4: [[(0.3, 0.05), (0.18, 0.6), (0.85, 0.6)], [(0.68, 0.1), (0.65, 0.95)]],
    5: [[(0.82, 0.05), (0.3, 0.05), (0.26, 0.45)], _arc(0.5, 0.68, 0.3, 0.27, 230, 500)],
    6: [[(0.68, 0.05), (0.4, 0.3), (0.25, 0.65)], _arc(0.5, 0.7, 0.25, 0.25, 180, 540)],
    7: [[(0.12, 0.08), (0.88, 0.08), (0.42, 0.95)]],
    8: [_arc(0.5, 0.27, 0.22, 0.22, 0, 360), _arc(0.5, 0.71, 0.27, 0.24, 0, 360)],
    9: [_arc(0.5, 0.3, 0.25, 0.25, 0, 360), [(0.75, 0.3), (0.68, 0.95)]],
}

def draw_digit(digit: int, canvas: int = 224, pen: float = 0.11) -> Tensor:
    """The digit drawn MNIST-style: [3, 28, 28] in [0, 1], white on black."""
    image = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(image)
    box_h, box_w = 0.7 * canvas, 0.5 * canvas
    left, top = (canvas - box_w) / 2, (canvas - box_h) / 2
    width = max(1, round(pen * box_h))
    for stroke in DIGIT_STROKES[digit]:
        points = [(left + x * box_w, top + y * box_h) for x, y in stroke]
        draw.line(points, fill=255, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    image = image.filter(ImageFilter.GaussianBlur(radius=width / 3))
    gray = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255)
    digit28 = to_model_input(gray.unsqueeze(0), get_info(DEFAULT_MODEL), invert=False)[0]
    return digit28.expand(3, -1, -1).contiguous()


def _photo(loader: Callable[[], np.ndarray], crop: tuple[slice, slice] | None = None) -> Callable[[], Tensor]:
    def load() -> Tensor:
        array = loader()
        if crop is not None:
            array = array[crop]
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        image = torch.from_numpy(np.ascontiguousarray(array)).float().div_(255)
        return image.expand(3, -1, -1).contiguous() if image.dim() == 2 else image.permute(2, 0, 1).contiguous()
    return load


_SAMPLES: dict[str, Callable[[], Tensor]] = {
    "imagenet/chelsea (cat)": _photo(skdata.chelsea),
    "imagenet/coffee": _photo(skdata.coffee),
    "imagenet/rocket": _photo(skdata.rocket),
    "imagenet/astronaut": _photo(skdata.astronaut),
    "cifar10/cat (chelsea)": _photo(skdata.chelsea, (slice(0, 300), slice(60, 360))),
    "cifar10/horse (silhouette)": _photo(skdata.horse),
    **{f"mnist/{d}": (lambda d=d: draw_digit(d)) for d in range(10)},
}


def list_samples(dataset: str) -> list[str]:
    """Names of the samples for "mnist", "cifar10" or "imagenet"."""
    return [name for name in _SAMPLES if name.split("/", 1)[0] == dataset]


def load_sample(name: str) -> Tensor:
    """The sample `name` (from `list_samples`) as float32 [3, H, W] RGB in [0, 1]."""
    try:
        return _SAMPLES[name]()
    except KeyError:
        raise KeyError(f"unknown sample '{name}'; known samples: {', '.join(_SAMPLES)}") from None
