"""Robust-accuracy curves of an evaluation, one panel per distance, as a self-contained HTML page (inline SVG) and a
PNG (drawn with PIL), without a plotting library."""
from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..compare import accuracy_curve

COLORS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880", "#ff97ff")
WIDTH, HEIGHT, MARGIN = 560, 360, 50
Curves = Mapping[str, Mapping[str, np.ndarray]]
"""distance -> attack -> per-sample distances (0: misclassified, +inf: not broken)."""


def _polylines(curves: Mapping[str, np.ndarray]) -> tuple[float, dict[str, list[tuple[float, float]]]]:
    finite = np.concatenate([d[np.isfinite(d)] for d in curves.values()])
    limit = 1.05 * float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
    lines = {}
    for name, values in curves.items():
        x, y = accuracy_curve(values)
        points = []
        for i, (budget, accuracy) in enumerate(zip(x, y)):
            if i:
                points.append((budget, y[i - 1]))
            points.append((budget, accuracy))
        points.append((limit, y[-1]))
        lines[name] = [(MARGIN + (WIDTH - 2 * MARGIN) * b / limit, HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * a)
                       for b, a in points]
    return limit, lines


def _svg(distance: str, curves: Mapping[str, np.ndarray]) -> str:
    limit, lines = _polylines(curves)
    bottom, right = HEIGHT - MARGIN, WIDTH - MARGIN
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" '
             'font-size="12">', f'<text x="{WIDTH / 2}" y="20" text-anchor="middle">robust accuracy (%) against '
             f'the {escape(distance)} budget</text>',
             f'<polyline fill="none" stroke="black" points="{MARGIN},{MARGIN} {MARGIN},{bottom} {right},{bottom}"/>']
    for fraction in (0, 0.5, 1):
        y = bottom - (HEIGHT - 2 * MARGIN) * fraction
        parts.append(f'<text x="{MARGIN - 5}" y="{y + 4}" text-anchor="end">{100 * fraction:.0f}</text>')
        x = MARGIN + (WIDTH - 2 * MARGIN) * fraction
        parts.append(f'<text x="{x}" y="{bottom + 16}" text-anchor="middle">{limit * fraction:.3g}</text>')
    for i, (name, points) in enumerate(lines.items()):
        color = COLORS[i % len(COLORS)]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        parts.append(f'<text x="{right - 150}" y="{MARGIN + 15 * i}" fill="{color}">{escape(name)}</text>')
    return "".join(parts) + "</svg>"


def _png(distance: str, curves: Mapping[str, np.ndarray]) -> Image.Image:
    limit, lines = _polylines(curves)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    bottom, right = HEIGHT - MARGIN, WIDTH - MARGIN
    draw.line([(MARGIN, MARGIN), (MARGIN, bottom), (right, bottom)], fill="black")
    draw.text((MARGIN, 15), f"robust accuracy (%) against the {distance} budget", fill="black")
    for fraction in (0, 0.5, 1):
        draw.text((10, bottom - (HEIGHT - 2 * MARGIN) * fraction - 6), f"{100 * fraction:.0f}", fill="black")
        draw.text((MARGIN + (WIDTH - 2 * MARGIN) * fraction - 10, bottom + 8), f"{limit * fraction:.3g}",
                  fill="black")
    for i, (name, points) in enumerate(lines.items()):
        color = COLORS[i % len(COLORS)]
        draw.line(points, fill=color, width=2)
        draw.text((right - 150, MARGIN + 15 * i), name, fill=color)
    return image


def write_curves(curves: Curves, out: Path) -> list[Path]:
    """Writes out/curves.html (every panel) and out/curves_<distance>.png; returns the paths."""
    html = "".join(f"<figure>{_svg(d, c)}</figure>" for d, c in curves.items())
    written = [out / "curves.html"]
    written[0].write_text(f"<!doctype html><meta charset='utf-8'><title>Robust accuracy</title><body>{html}</body>")
    for distance, panel in curves.items():
        path = out / f"curves_{distance}.png"
        _png(distance, panel).save(path)
        written.append(path)
    return written
