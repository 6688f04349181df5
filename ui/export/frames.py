"""Frames of an attack's animation, for slides: original | iterate | amplified difference, the step and D written on
each frame, and under them a strip with the distance and μ curves and a cursor at the frame's step.

Frames are RGB uint8 arrays [H, W, 3] drawn with numpy and Pillow (no Plotly: a few milliseconds a frame). Small
images are enlarged with nearest-neighbour so that each pixel stays a sharp square. The difference uses one
amplification factor for the whole animation, so that frames compare.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from alma.trace import Trace
from ui.figures import COLORS, FIRST_ADV_COLOR
from ui.images import to_uint8

DEFAULT_FRAMES = 100
"""Frames of an animation unless the caller says otherwise: 10 s at 10 frames per second."""
WIDTH = 720
MARGIN = 8
TITLE_HEIGHT, LABEL_HEIGHT, INFO_HEIGHT, STRIP_HEIGHT = 26, 20, 26, 130
WHITE, TEXT, GRID, CURSOR = (255, 255, 255), (40, 40, 40), (200, 200, 200), (214, 39, 40)
RUN_COLOR = COLORS[0]
ADVERSARIAL, NOT_ADVERSARIAL = (30, 140, 30), (120, 120, 120)
_ASCII = str.maketrans({"ℓ": "l", "μ": "mu", "−": "-", "×": "x", "·": "-", "≥": ">=", "≤": "<="})


def frame_indices(count: int, num_frames: int) -> np.ndarray:
    """Indices of `num_frames` of `count` snapshots, evenly spread, first and last included (all when fewer)."""
    return np.linspace(0, count - 1, max(1, min(num_frames, count))).round().astype(int)


def difference_factor(clean: Tensor, iterates: Tensor) -> float:
    """k such that the largest |iterate − clean| of all `iterates` maps to 0.5 in 0.5 + k·δ (1 if none differs)."""
    largest = float((iterates.float() - clean.float()).abs().max()) if len(iterates) else 0.0
    return 0.5 / largest if largest > 0 else 1.0


def animation_frames(clean: Tensor, iterates: Tensor, steps: Tensor, trace: Trace, distance_label: str,
                     num_frames: int = DEFAULT_FRAMES, width: int = WIDTH, sample: int = 0,
                     title: str = "", factor: float | None = None) -> list[np.ndarray]:
    """Frames of one attack: `clean` [C, H, W] and its `iterates` [S, C, H, W] in [0, 1] at `steps` [S] (the trace
    row of each), `sample` the trace column of this image; `title` (e.g. the run's name) heads every frame.
    `factor`: k of the difference 0.5 + k·δ (None: `difference_factor` of the frames shown; give two runs the same
    k to compare them)."""
    if iterates.shape[1:] != clean.shape or len(iterates) != len(steps) or not len(steps):
        raise ValueError(f"need iterates [S, {', '.join(map(str, clean.shape))}] and steps [S], S ≥ 1; got "
                         f"{tuple(iterates.shape)} and {tuple(steps.shape)}")
    chosen = frame_indices(len(steps), num_frames)
    iterates, steps = iterates[chosen].float(), steps[chosen].tolist()
    factor = difference_factor(clean, iterates) if factor is None else factor
    curves = _Curves.of(trace, sample)
    layout = _Layout.of(clean.shape[-2:], width, bool(title))
    background = _background(layout, _panel(clean, layout.cell), curves, distance_label, factor, title)
    return [_frame(background, layout, curves, distance_label, iterate, (0.5 + factor * (iterate - clean)).clamp(0, 1),
                   step) for iterate, step in zip(iterates, steps)]


def stack_frames(*animations: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Frame i of each animation one above the other (e.g. run A above run B), separated by a grey line; the
    animations must have as many frames."""
    if len({len(frames) for frames in animations}) != 1:
        raise ValueError(f"the animations have different frame counts: {[len(f) for f in animations]}")
    width = max(frames[0].shape[1] for frames in animations)
    separator = np.full((2, width, 3), GRID, dtype=np.uint8)

    def padded(frame: np.ndarray) -> np.ndarray:
        return np.pad(frame, ((0, 0), (0, width - frame.shape[1]), (0, 0)), constant_values=255)

    stacked = []
    for first, *rest in zip(*animations):
        parts = [padded(first)]
        for frame in rest:
            parts += [separator, padded(frame)]
        stacked.append(np.concatenate(parts))
    return stacked


# --- layout ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Layout:
    cell: tuple[int, int]
    """(height, width) of each image panel."""
    width: int
    height: int
    panels_x: tuple[int, int, int]
    panels_y: int
    info_y: int
    strip_y: int

    @classmethod
    def of(cls, image_size: Sequence[int], width: int, titled: bool) -> _Layout:
        height, image_width = image_size
        room = (width - 4 * MARGIN) // 3
        scale = room / max(height, image_width)
        scale = max(1, int(scale)) if scale >= 1 else scale  # enlarge by an integer factor, shrink to fit
        cell = (max(1, round(height * scale)), max(1, round(image_width * scale)))
        width = max(width, 3 * cell[1] + 4 * MARGIN)
        left = (width - 3 * cell[1] - 2 * MARGIN) // 2
        panels_y = (TITLE_HEIGHT if titled else 0) + LABEL_HEIGHT
        info_y = panels_y + cell[0] + 4
        strip_y = info_y + INFO_HEIGHT
        return cls(cell, width, strip_y + STRIP_HEIGHT + MARGIN,
                   tuple(left + i * (cell[1] + MARGIN) for i in range(3)), panels_y, info_y, strip_y)


def _panel(image: Tensor, cell: tuple[int, int]) -> np.ndarray:
    """An image [C, H, W] in [0, 1] as RGB uint8 of size `cell` (nearest-neighbour when enlarged)."""
    array = to_uint8(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    height, width = array.shape[:2]
    if cell[0] % height == 0 and cell[1] % width == 0:
        return array.repeat(cell[0] // height, axis=0).repeat(cell[1] // width, axis=1)
    return np.asarray(Image.fromarray(array).resize(cell[::-1], Image.Resampling.LANCZOS))


# --- text --------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (it has ℓ, μ, …) where the system has it, else Pillow's default font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int = 13,
          fill: tuple[int, int, int] | str = TEXT, anchor: str = "la") -> None:
    font = _font(size)
    if "DejaVu" not in font.getname()[0]:  # Pillow's default font has no Greek letters
        text = text.translate(_ASCII)
    draw.text(xy, text, fill=fill, font=font, anchor=anchor)


# --- the curves ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Curves:
    """One sample's trace as numpy arrays."""

    steps: np.ndarray
    distance: np.ndarray
    best: np.ndarray
    mu: np.ndarray
    is_adv: np.ndarray
    first_adv: int | None

    @classmethod
    def of(cls, trace: Trace, sample: int) -> _Curves:
        first = int(trace.first_adv_step[sample])
        return cls(trace.steps.numpy(), trace.distance[:, sample].double().numpy(),
                   trace.best_distance[:, sample].double().numpy(), trace.mu[:, sample].double().numpy(),
                   trace.is_adv[:, sample].numpy(), first if first >= 0 else None)

    def row(self, step: int) -> int:
        row = step - int(self.steps[0])
        if not 0 <= row < len(self.steps):
            raise ValueError(f"step {step} is not in the trace (steps {self.steps[0]}–{self.steps[-1]})")
        return row


@dataclass(frozen=True)
class _Axes:
    """A plot area of the strip: pixel box (left, top, right, bottom), data ranges, log y or not."""

    box: tuple[int, int, int, int]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    log: bool

    def x(self, value: float) -> float:
        left, _, right, _ = self.box
        low, high = self.x_range
        return left + (value - low) / (high - low) * (right - left)

    def y(self, value: np.ndarray | float) -> np.ndarray:
        _, top, _, bottom = self.box
        low, high = self.y_range
        value = np.log10(value) if self.log else np.asarray(value, dtype=float)
        return bottom - (value - low) / (high - low) * (bottom - top)

    def line(self, draw: ImageDraw.ImageDraw, steps: np.ndarray, values: np.ndarray, color: str,
             width: int) -> None:
        """The curve through the finite values (a gap where a value is inf or NaN)."""
        finite = np.isfinite(values) & (values > 0 if self.log else True)
        xs, ys = self.x(steps.astype(float)), self.y(np.where(finite, values, 1.0))
        pieces = np.split(np.arange(len(values)), np.flatnonzero(np.diff(finite.astype(np.int8))) + 1)
        for piece in pieces:
            if finite[piece[0]]:
                points = list(zip(xs[piece].tolist(), ys[piece].tolist()))
                draw.line(points if len(points) > 1 else points * 2, fill=color, width=width, joint="curve")


def _y_range(values: np.ndarray, log: bool) -> tuple[float, float]:
    finite = values[np.isfinite(values) & (values > 0 if log else True)]
    if log:
        low, high = (np.log10(finite.min()), np.log10(finite.max())) if len(finite) else (0.0, 1.0)
        pad = max(0.05 * (high - low), 0.25)
        return float(low - pad), float(high + pad)
    high = float(finite.max()) if len(finite) else 1.0
    return 0.0, high * 1.08 if high > 0 else 1.0


def _axes(layout: _Layout, curves: _Curves) -> tuple[_Axes, _Axes]:
    x_range = (float(curves.steps[0]), float(max(curves.steps[-1], curves.steps[0] + 1)))
    top, bottom = layout.strip_y + 18, layout.strip_y + STRIP_HEIGHT - 16
    half = layout.width // 2
    distance = _Axes((MARGIN + 2, top, half - MARGIN, bottom), x_range,
                     _y_range(np.concatenate([curves.distance, curves.best]), log=False), log=False)
    mu = _Axes((half + MARGIN, top, layout.width - MARGIN - 2, bottom), x_range, _y_range(curves.mu, log=True),
               log=True)
    return distance, mu


def _strip(draw: ImageDraw.ImageDraw, layout: _Layout, curves: _Curves, distance_label: str) -> None:
    """The static part of the strip: frames, labels, the first adversarial step and both curves."""
    distance, mu = _axes(layout, curves)
    for axes, title, y_range in (
            (distance, f"{distance_label}  (thin: iterate, thick: best adversarial)",
             f"0 – {distance.y_range[1]:.3g}"),
            (mu, "penalty multiplier μ (log scale)", f"{10 ** mu.y_range[0]:.2g} – {10 ** mu.y_range[1]:.2g}")):
        left, top, right, bottom = axes.box
        draw.rectangle(axes.box, outline=GRID)
        _text(draw, (left, top - 3), title, size=12, anchor="ld")
        _text(draw, (right - 3, top + 2), y_range, size=11, fill=NOT_ADVERSARIAL, anchor="ra")
        _text(draw, (left, bottom + 2), f"step {axes.x_range[0]:.0f}", size=11, fill=NOT_ADVERSARIAL)
        _text(draw, (right, bottom + 2), f"{curves.steps[-1]}", size=11, fill=NOT_ADVERSARIAL, anchor="ra")
        if curves.first_adv is not None:
            x = axes.x(curves.first_adv)
            draw.line([(x, top), (x, bottom)], fill=FIRST_ADV_COLOR, width=1)
    distance.line(draw, curves.steps, curves.distance, RUN_COLOR, 1)
    distance.line(draw, curves.steps, curves.best, RUN_COLOR, 3)
    mu.line(draw, curves.steps, curves.mu, RUN_COLOR, 2)


# --- frames --------------------------------------------------------------------------------------------------------

def _background(layout: _Layout, original: np.ndarray, curves: _Curves, distance_label: str, factor: float,
                title: str) -> Image.Image:
    canvas = Image.new("RGB", (layout.width, layout.height), WHITE)
    canvas.paste(Image.fromarray(original), (layout.panels_x[0], layout.panels_y))
    draw = ImageDraw.Draw(canvas)
    if title:
        _text(draw, (layout.width // 2, TITLE_HEIGHT // 2 + 1), title, size=16, anchor="mm")
    labels = ("original", "iterate", f"difference × {factor:.3g} (grey = unchanged)")
    for x, label in zip(layout.panels_x, labels):
        _text(draw, (x + layout.cell[1] / 2, layout.panels_y - 4), label, size=12, anchor="md")
    _strip(draw, layout, curves, distance_label)
    return canvas


def _frame(background: Image.Image, layout: _Layout, curves: _Curves, distance_label: str, iterate: Tensor,
           difference: Tensor, step: int) -> np.ndarray:
    canvas = background.copy()
    for x, image in zip(layout.panels_x[1:], (iterate, difference)):
        canvas.paste(Image.fromarray(_panel(image, layout.cell)), (x, layout.panels_y))
    draw = ImageDraw.Draw(canvas)
    row = curves.row(step)
    adversarial = bool(curves.is_adv[row])
    centre = layout.panels_x[1] + layout.cell[1] / 2
    y = layout.info_y + INFO_HEIGHT // 2
    _text(draw, (centre - 8, y), f"step {step}   {distance_label} = {curves.distance[row]:.4g}", size=15,
          anchor="rm")
    _text(draw, (centre + 8, y), "adversarial" if adversarial else "not adversarial", size=15,
          fill=ADVERSARIAL if adversarial else NOT_ADVERSARIAL, anchor="lm")
    for axes, value in zip(_axes(layout, curves), (curves.distance[row], curves.mu[row])):
        x, (_, top, _, bottom) = axes.x(step), axes.box
        draw.line([(x, top), (x, bottom)], fill=CURSOR, width=1)
        if np.isfinite(value) and (value > 0 or not axes.log):
            point = float(axes.y(value))
            draw.ellipse([x - 3, point - 3, x + 3, point + 3], fill=CURSOR)
    return np.asarray(canvas)

