"""The charts of an attack, live or finished: one component that draws several small charts and updates them in
place (several times a second while a run is active, at each step of the scrubber after it).

Each redraw sends only the series (as base64 float32 arrays), decimated to at most `MAX_POINTS` per series by keeping
each bucket's minimum and maximum (spikes of μ stay visible), plus a few marks. The browser draws them with uPlot, a
canvas chart library (MIT, vendored in `ui/vendor/uplot`, served by Streamlit: no CDN, it works offline), whose
`setData` redraws 6 charts in a few milliseconds where Plotly's SVG took about 150 — on a 2-core laptop the browser
and the attack share the CPU. The root element carries `data-steps` (the steps drawn) and `data-redraws` (redraws
applied), which tests and `bench/live.py` read. A finished run's charts add a cursor at the scrubber's step, show
the values under the mouse, and report the step of a clicked point.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit.components.v1 as components_v1
import streamlit.components.v2 as components_v2

from alma.trace import Trace

from .figures import COLORS, EXPLOITATION, EXPLORATION, FIRST_ADV_COLOR

MAX_POINTS = 400
"""Points per series at most: about the width of a chart in pixels (two points, min and max, per bucket)."""
CHART_HEIGHT = 200
_UPLOT = components_v1.declare_component("uplot", path=str(Path(__file__).with_name("vendor") / "uplot"))
UPLOT_URLS = {"src": f"./component/{_UPLOT.name}/uPlot.iife.min.js", "css": f"./component/{_UPLOT.name}/uPlot.min.css"}
_JS = (Path(__file__).with_name("live_chart.js")).read_text()
_component = components_v2.component("alma_live_charts", js=_JS, isolate_styles=False)


@dataclass(frozen=True)
class LiveChart:
    """One chart: the trace field drawn, its title, log scale, and whether the best distance goes with it."""

    field: str
    title: str
    log: bool = False


DISTANCE = LiveChart("distance", "Distance {label} (thin: iterate, bold: best adversarial)")
CONSTRAINT = LiveChart("constraint", "Constraint c: adversarial below 0")
MU = LiveChart("mu", "Penalty multiplier μ (log)", log=True)
RHO = LiveChart("rho", "Penalty parameter ρ (log)", log=True)
LR = LiveChart("lr", "Learning rate η (log)", log=True)
GRAD_NORM = LiveChart("grad_norm", "Gradient norm ‖∇L‖₂ (log)", log=True)
ALL = (DISTANCE, CONSTRAINT, MU, RHO, LR, GRAD_NORM)


def preload() -> None:
    """Loads the chart library in the browser ahead of the first run, so the first live line is drawn at once."""
    _component(key="alma_live_preload", height=0, data={**UPLOT_URLS, "charts": []})


def live_charts(traces: Mapping[str, Trace], num_steps: int, distance_label: str, key: str,
                charts: tuple[LiveChart, ...] = ALL, columns: int = 3, cursor: int | None = None,
                on_click: Callable[[], None] | None = None) -> None:
    """The charts of an attack (sample 0 of each labelled trace), `columns` per row, updated in place; `cursor`: a
    vertical line at that step; `on_click`: called when a point is clicked (its step is then
    `st.session_state[key]["step"]`)."""
    data = payload(traces, num_steps, distance_label, charts)
    extra = {"on_step_change": on_click} if on_click is not None else {}
    _component(key=key, height=CHART_HEIGHT * -(-len(charts) // columns) + 8,
               data={**data, **UPLOT_URLS, "columns": columns, "height": CHART_HEIGHT, "cursor": cursor,
                     "clickable": on_click is not None}, **extra)


def payload(traces: Mapping[str, Trace], num_steps: int, distance_label: str,
            charts: tuple[LiveChart, ...] = ALL) -> dict:
    """What the browser needs to draw `charts` of sample 0 of each trace: small, JSON-ready."""
    several = len(traces) > 1
    steps = max((t.start + t.num_steps for t in traces.values()), default=0)
    firsts = {run: int(t.first_adv_step[0]) for run, t in traces.items() if int(t.first_adv_step[0]) >= 0}
    out = []
    for chart in charts:
        series = []
        for i, (run, trace) in enumerate(traces.items()):
            color = COLORS[i % len(COLORS)]
            x = trace.start + np.arange(trace.num_steps)
            name = f" ({run})" if several else ""
            if chart is DISTANCE:
                series.append(_series(x, trace.distance[:, 0], f"iterate{name}", color, 1.0, 0.5))
                series.append(_series(x, trace.best_distance[:, 0], f"best adversarial{name}", color, 2.5))
            else:
                series.append(_series(x, getattr(trace, chart.field)[:, 0], (run or chart.field), color))
            if chart is RHO:  # ▲ where ρ ← γρ
                rho = trace.rho[:, 0].numpy()
                grew = np.flatnonzero(np.diff(rho) > 0) + 1
                series.append(_series(x[grew], rho[grew], f"ρ increased{name}", color, mode="markers"))
        vlines = [{"x": step, "color": COLORS[i % len(COLORS)] if several else FIRST_ADV_COLOR}
                  for i, (run, step) in enumerate(firsts.items()) if run in traces]
        rects = []
        if chart is LR and len(firsts) == 1 and not several:  # exploration, then exploitation
            switch = next(iter(firsts.values()))
            rects = [{"x0": 0, "x1": switch, "color": EXPLORATION},
                     {"x0": switch, "x1": max(num_steps - 1, switch), "color": EXPLOITATION}]
        out.append({"title": chart.title.format(label=distance_label), "log": chart.log, "series": series,
                    "vlines": vlines, "rects": rects, "zero": chart is CONSTRAINT,
                    "legend": several and chart is DISTANCE})
    return {"charts": out, "steps": steps, "x_max": max(num_steps - 1, 1)}


def decimate(y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of `y` to draw: all of them when they fit, else each bucket's first, minimum and maximum and the
    last point, at most `max_points` + 1 in all."""
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    buckets = max_points // 2
    size = -(-n // buckets)
    padded = np.full(buckets * size, np.nan)
    padded[:n] = y
    rows = padded.reshape(buckets, size)
    finite = np.isfinite(rows)
    low = np.where(finite, rows, np.inf).argmin(1)
    high = np.where(finite, rows, -np.inf).argmax(1)
    base = np.arange(buckets) * size
    keep = np.unique(np.concatenate([base + low, base + high, [n - 1]]))
    return keep[keep < n]


def _series(x: np.ndarray, y, name: str, color: str, width: float = 1.6, opacity: float = 1.0,
            mode: str = "lines") -> dict:
    values = np.asarray(y, dtype=np.float32)
    values = np.where(np.isfinite(values), values, np.nan).astype(np.float32)
    keep = decimate(values)
    return {"name": name, "color": color, "width": width, "opacity": opacity, "mode": mode,
            "x": _typed(x[keep].astype(np.int32), "i4"), "y": _typed(values[keep], "f4")}


def _typed(array: np.ndarray, dtype: str) -> dict:
    """A typed array: base64 of little-endian values (Plotly's JSON form of one)."""
    return {"dtype": dtype, "bdata": base64.b64encode(array.astype(f"<{dtype}").tobytes()).decode()}
