"""Plotly figures of an attack comparison: robust accuracy against the distance budget (the paper's Figures 4 and 5),
one panel per distance, from `alma.compare.samples_frame`; the best distance found against the queries spent; and
their export (PNG with kaleido, else HTML)."""
from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from alma import distances
from alma.compare import AttackRun, accuracy_curve

from .comparison import QueryCurve

COLORS = qualitative.Plotly
HEIGHT = 380
EXPORT_WIDTH = 1200


def _x_limit(values: np.ndarray) -> float:
    """A budget past every finite distance (1 when there is none)."""
    finite = values[np.isfinite(values)]
    return 1.05 * float(finite.max()) if len(finite) and finite.max() > 0 else 1.0


def robust_accuracy_figure(samples: pd.DataFrame, title: str = "") -> go.Figure:
    """Robust accuracy (%) as a step curve of the budget, one line per attack and budget, one panel per distance.

    Colours follow the attacks' order within each panel; as in the paper, the smaller budgets are dotted, the largest
    solid.
    """
    names = list(dict.fromkeys(samples["distance"]))
    fig = make_subplots(rows=1, cols=max(len(names), 1), subplot_titles=[distances.get(n).label for n in names],
                        horizontal_spacing=0.08)
    largest = samples["budget"].max() if len(samples) else 0
    for col, name in enumerate(names, start=1):
        part = samples[samples["distance"] == name]
        labels = list(dict.fromkeys(part["label"]))
        limit = _x_limit(part["value"].to_numpy(dtype=float))
        for (label, budget), run in part.groupby(["label", "budget"], sort=False):
            x, y = accuracy_curve(run["value"].to_numpy(dtype=float))
            x, y = np.append(x, limit), np.append(y, y[-1])
            color = COLORS[labels.index(label) % len(COLORS)]
            fig.add_trace(go.Scatter(x=x, y=100 * y, mode="lines", line_shape="hv", name=f"{label}, {budget}",
                                     legendgroup=label, line=dict(color=color, width=2,
                                                                  dash="solid" if budget == largest else "dot")),
                          row=1, col=col)
        fig.update_xaxes(title_text=f"budget ({distances.get(name).label})", range=[0, limit], row=1, col=col)
    fig.update_yaxes(title_text="robust accuracy (%)", range=[0, 101], row=1, col=1)
    fig.update_yaxes(range=[0, 101])
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=HEIGHT, hovermode="x unified",
                      margin=dict(l=10, r=10, t=60 if title else 40, b=10))
    return fig


def queries_figure(runs: Sequence[AttackRun], curves: Sequence[QueryCurve], title: str = "") -> go.Figure:
    """The best distance found within a number of queries (forwards + backwards per sample), one line per attack (the
    median over the images: +inf, not drawn, until half of them have an adversarial), one panel per distance."""
    names = list(dict.fromkeys(run.distance for run in runs))
    fig = make_subplots(rows=1, cols=max(len(names), 1), subplot_titles=[distances.get(n).label for n in names],
                        horizontal_spacing=0.08)
    for index, (run, curve) in enumerate(zip(runs, curves)):
        median = np.median(curve.best, axis=0)
        fig.add_trace(go.Scatter(x=curve.queries, y=np.where(np.isfinite(median), median, None), mode="lines",
                                 line_shape="hv", name=run.label, line=dict(color=COLORS[index % len(COLORS)],
                                                                            width=2)),
                      row=1, col=names.index(run.distance) + 1)
    for col, name in enumerate(names, start=1):
        fig.update_xaxes(title_text="queries per sample (forwards + backwards)", type="log", row=1, col=col)
        fig.update_yaxes(title_text=f"best {distances.get(name).label} so far", row=1, col=col)
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=HEIGHT, hovermode="x unified",
                      margin=dict(l=10, r=10, t=60 if title else 40, b=10))
    return fig


def export_figure(fig: go.Figure, stem: Path) -> Path:
    """Writes `stem`.png with kaleido (which needs Chrome or Chromium), else `stem`.html with plotly.min.js beside it;
    returns the path written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    if importlib.util.find_spec("kaleido") is not None:
        path = stem.with_suffix(".png")
        try:
            fig.write_image(path, width=EXPORT_WIDTH, height=HEIGHT + 40, scale=2)
            return path
        except Exception as error:  # kaleido raises its own types when it finds no browser
            warnings.warn(f"PNG export failed ({error}); writing HTML instead", stacklevel=2)
    path = stem.with_suffix(".html")
    fig.write_html(path, include_plotlyjs="directory")
    return path
