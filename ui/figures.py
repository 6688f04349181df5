"""Plotly figures of an attack's trace, from `Trace.to_dataframe()`, and of the penalty functions.

Chart functions take a tidy frame (see `trace_frame`) with a `run` column; each run gets its own colour, so the same
chart shows one attack or overlays several (the EMA page). Marks: the first adversarial step on every chart, the
decision boundary c = 0, the steps where ρ grows, and the exploration / exploitation phases of the learning rate.
Each figure is built in one go from plain dicts (plotly's incremental `add_*` / `update_*` calls cost ten times
more). A running attack is drawn by `ui.live_chart` instead.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.colors import qualitative

from alma.penalties import Penalty
from alma.trace import Trace

HEIGHT = 250
COLORS = qualitative.Plotly
FIRST_ADV_COLOR = "#2ca02c"
EXPLORATION, EXPLOITATION = "rgba(99, 110, 250, 0.08)", "rgba(0, 204, 150, 0.10)"
MIN_LABELLED_BAND = 0.2
"""The exploration band is labelled inside only when it spans this share of the steps; a narrower one is named in
the exploitation label (its text would run into the exploitation band)."""
LOG_AXIS = dict(type="log", exponentformat="power", minorloglabels="complete")
"""Log axes: every tick label a whole number (2×10⁻³, 5×10⁻³, 10⁻²), never a bare minor digit "2", "5"."""
COLUMNS = ["run", "step", "sample", "distance", "best_distance", "constraint", "mu", "rho", "lr", "is_adv",
           "grad_norm"]

Dict = dict[str, Any]


def trace_frame(traces: Mapping[str, Trace], sample: int = 0) -> pd.DataFrame:
    """One sample's rows of each labelled trace, with a `run` column; inf (no adversarial yet) becomes NaN."""
    frames = []
    for run, trace in traces.items():
        df = trace.to_dataframe()
        frames.append(df[df["sample"] == sample].assign(run=run))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True).replace([np.inf, -np.inf], np.nan)


def first_adversarial_steps(df: pd.DataFrame) -> dict[str, int]:
    """The first adversarial step of each run that has one."""
    hits = df[df["is_adv"].astype(bool)]
    return {str(run): int(steps.min()) for run, steps in hits.groupby("run", sort=False)["step"]}


# --- building blocks ---------------------------------------------------------------------------------------------

def _color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def _runs(df: pd.DataFrame) -> list[tuple[int, str, pd.DataFrame]]:
    return [(i, str(run), part) for i, (run, part) in enumerate(df.groupby("run", sort=False))]


def _name(run: str, what: str) -> str:
    return f"{what} ({run})" if run else what


def _line(x: Any, y: Any, name: str, color: str, width: float = 1.6, opacity: float = 1.0, **extra: Any) -> Dict:
    return dict(type="scatter", mode="lines", x=np.asarray(x), y=np.asarray(y, dtype=float), name=name,
                line=dict(color=color, width=width), opacity=opacity, **extra)


def _vline(x: float, color: str, dash: str = "dash") -> Dict:
    return dict(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line=dict(color=color, width=1, dash=dash))


def _hline(y: float, color: str) -> Dict:
    return dict(type="line", x0=0, x1=1, xref="paper", y0=y, y1=y, line=dict(color=color, width=1.2, dash="dot"))


def _vrect(x0: float, x1: float, color: str) -> Dict:
    return dict(type="rect", x0=x0, x1=x1, y0=0, y1=1, yref="paper", fillcolor=color, line=dict(width=0),
                layer="below")


def _note(x: float, y: float, text: str, xanchor: str = "left", yanchor: str = "top", xref: str = "x",
          yref: str = "paper") -> Dict:
    return dict(x=x, y=y, xref=xref, yref=yref, text=text, showarrow=False, xanchor=xanchor, yanchor=yanchor,
                font=dict(size=11, color="#555"))


def _figure(data: list[Dict], title: str, y_title: str, num_steps: int, log: bool = False,
            shapes: list[Dict] | None = None, annotations: list[Dict] | None = None,
            y_range: list[float] | None = None) -> go.Figure:
    y_axis = dict(title=dict(text=y_title), **(LOG_AXIS if log else dict(type="linear", exponentformat="power")))
    if y_range is not None:
        y_axis["range"] = y_range
    layout = dict(title=dict(text=title, font=dict(size=15)), height=HEIGHT, hovermode="x unified",
                  margin=dict(l=10, r=10, t=40, b=10), uirevision="keep", showlegend=True,
                  legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
                  xaxis=dict(title=dict(text="step"), range=[0, max(num_steps - 1, 1)]), yaxis=y_axis,
                  shapes=shapes or [], annotations=annotations or [])
    return go.Figure(dict(data=data, layout=layout))


def _first_adversarial_marks(df: pd.DataFrame, with_text: bool = False) -> tuple[list[Dict], list[Dict]]:
    runs = [str(r) for r in df["run"].unique()]
    shapes, notes = [], []
    for run, step in first_adversarial_steps(df).items():
        color = _color(runs.index(run)) if len(runs) > 1 else FIRST_ADV_COLOR
        shapes.append(_vline(step, color))
        if with_text and len(runs) == 1:
            notes.append(_note(step, 1, f" first adversarial: step {step}"))
    return shapes, notes


def _line_chart(df: pd.DataFrame, column: str, what: str, title: str, y_title: str, num_steps: int,
                log: bool = False, shapes: list[Dict] | None = None, annotations: list[Dict] | None = None,
                y_range: list[float] | None = None, extra: list[Dict] | None = None) -> go.Figure:
    data = [_line(part["step"], part[column], _name(run, what), _color(i)) for i, run, part in _runs(df)]
    marks, notes = _first_adversarial_marks(df)
    return _figure(data + (extra or []), title, y_title, num_steps, log, (shapes or []) + marks,
                   (annotations or []) + notes, y_range)


# --- the trace charts --------------------------------------------------------------------------------------------

def distance_chart(df: pd.DataFrame, num_steps: int, distance_label: str = "D") -> go.Figure:
    """D(x̃⁽ⁱ⁾, x) of each iterate and the best adversarial distance so far."""
    data = []
    for i, run, part in _runs(df):
        data.append(_line(part["step"], part["distance"], _name(run, "iterate"), _color(i), width=1, opacity=0.5))
        data.append(_line(part["step"], part["best_distance"], _name(run, "best adversarial"), _color(i), width=2.5))
    shapes, notes = _first_adversarial_marks(df, with_text=True)
    return _figure(data, f"Distance {distance_label}", distance_label, num_steps, shapes=shapes, annotations=notes)


def constraint_chart(df: pd.DataFrame, num_steps: int) -> go.Figure:
    """c(f(x̃⁽ⁱ⁾)) with the decision boundary c = 0: below it the iterate is adversarial. The view shows the band
    around the boundary (DLR⁺ is at most 1; rare deep dips are clipped: zoom out to see them)."""
    values = df["constraint"].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    low = float(np.quantile(values, 0.02)) if len(values) else -1.0
    high = float(values.max()) if len(values) else 1.0
    pad = 0.05 * (high - min(low, -0.5))
    y_range = [min(low, -0.5) - pad, max(high, 0.5) + pad]
    return _line_chart(df, "constraint", "c", "Constraint c: adversarial below 0", "c", num_steps,
                       shapes=[_hline(0, "#d62728")], annotations=[_note(1, 0, "c = 0 ", "right", "bottom", "paper",
                                                                            "y")], y_range=y_range)


def mu_chart(df: pd.DataFrame, num_steps: int) -> go.Figure:
    """The penalty multiplier μ (EMA of the penalty's derivative), log scale."""
    return _line_chart(df, "mu", "μ", "Penalty multiplier μ", "μ (log)", num_steps, log=True)


def rho_chart(df: pd.DataFrame, num_steps: int) -> go.Figure:
    """The penalty parameter ρ, log scale, with a marker at each increase ρ ← γρ."""
    increases = []
    for i, run, part in _runs(df):
        grew = part[part["rho"].diff() > 0]
        increases.append(dict(type="scatter", mode="markers", x=grew["step"].to_numpy(),
                              y=grew["rho"].to_numpy(dtype=float), name=_name(run, "ρ increased"),
                              marker=dict(symbol="triangle-up", size=8, color=_color(i))))
    return _line_chart(df, "rho", "ρ", "Penalty parameter ρ (▲ increase ρ ← γρ)", "ρ (log)", num_steps, log=True,
                       extra=increases)


def lr_chart(df: pd.DataFrame, num_steps: int) -> go.Figure:
    """The step size η, log scale: constant while exploring, decaying once an adversarial is found."""
    firsts = first_adversarial_steps(df)
    shapes, notes = [], []
    if len(firsts) == 1 and df["run"].nunique() == 1:
        switch = next(iter(firsts.values()))
        end = max(num_steps - 1, switch)
        shapes = [_vrect(0, switch, EXPLORATION), _vrect(switch, end, EXPLOITATION)]
        if switch >= MIN_LABELLED_BAND * max(num_steps - 1, 1):
            notes = [_note(0, 0, " exploration", yanchor="bottom"), _note(end, 0, "exploitation ", "right", "bottom")]
        else:
            notes = [_note(end, 0, f"exploration: steps 0–{switch} · exploitation ", "right", "bottom")]
    return _line_chart(df, "lr", "η", "Learning rate η", "η (log)", num_steps, log=True, shapes=shapes,
                       annotations=notes)


def grad_norm_chart(df: pd.DataFrame, num_steps: int) -> go.Figure:
    """‖∇L‖₂ of the loss each step, log scale."""
    return _line_chart(df, "grad_norm", "‖g‖₂", "Gradient norm ‖∇L‖₂", "‖g‖₂ (log)", num_steps, log=True)


# --- penalty functions -------------------------------------------------------------------------------------------

def penalty_figure(penalties: Mapping[str, Penalty], rho: float, mu: float,
                   y_range: tuple[float, float] = (-3.0, 3.0)) -> go.Figure:
    """P(y, ρ, μ) (left) and P′(y, ρ, μ) (right) of each penalty."""
    y = torch.linspace(*y_range, 601, dtype=torch.float64)
    rho_t, mu_t = torch.full_like(y, rho), torch.full_like(y, mu)
    data = []
    for i, (name, penalty) in enumerate(penalties.items()):
        for axis, values in (("", penalty.value(y, rho_t, mu_t)), ("2", penalty.derivative(y, rho_t, mu_t))):
            data.append(_line(y.numpy(), values.numpy(), name, _color(i), width=2, legendgroup=name,
                              showlegend=not axis, xaxis=f"x{axis}", yaxis=f"y{axis}"))
    x_title = dict(text="y = c  (adversarial for y < 0)")
    scale = max(mu, 1.0)
    layout = dict(height=420, margin=dict(l=10, r=10, t=50, b=10), hovermode="x unified",
                  legend=dict(orientation="h", yanchor="bottom", y=1.08, xanchor="right", x=1),
                  xaxis=dict(domain=[0, 0.46], title=x_title), xaxis2=dict(domain=[0.54, 1], title=x_title),
                  yaxis=dict(range=[-3 * scale, 12 * scale], title=dict(text="P")),
                  yaxis2=dict(anchor="x2", range=[-0.5 * mu, 6 * mu], title=dict(text="P′")),
                  shapes=[_vline(0, "grey", "dot") | dict(xref="x"), _vline(0, "grey", "dot") | dict(xref="x2"),
                          dict(type="line", xref="x2", yref="y2", x0=y_range[0], x1=y_range[1], y0=mu, y1=mu,
                               line=dict(color="grey", width=1, dash="dot"))],
                  annotations=[_note(0.23, 1.02, "P(y, ρ, μ)", "center", "bottom", "paper", "paper"),
                               _note(0.77, 1.02, "P′(y, ρ, μ) = ∂P/∂y", "center", "bottom", "paper", "paper"),
                               _note(y_range[1], mu, "μ ", "right", "bottom", "x2", "y2")])
    return go.Figure(dict(data=data, layout=layout))
