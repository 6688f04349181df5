"""Plotly figure of the decision boundary around one input: a slice from `alma.geometry.evaluate_slice` with the
attack's path projected on it (`Slice.project`). Pure: builds a figure, no Streamlit calls."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from alma.geometry import Coordinates, Slice

from .figures import FIRST_ADV_COLOR

BEST_COLOR, HIGHLIGHT_COLOR, BOUNDARY_COLOR = "#d62728", "#ff7f0e", "black"

Dict = dict[str, Any]
Point = tuple[float, float]


def _marker(point: Point, name: str, symbol: str, color: str, size: int = 12, line: Dict | None = None) -> Dict:
    return dict(type="scatter", mode="markers", x=[point[0]], y=[point[1]], name=name,
                marker=dict(symbol=symbol, size=size, color=color, line=line or dict(width=1, color="white")))


def geometry_figure(plane: Slice, path: Coordinates | None = None, steps: Sequence[int] | np.ndarray | None = None,
                    first_adv: Point | None = None, best: Point | None = None, highlight_step: int | None = None,
                    distance_label: str = "D", height: int = 520) -> go.Figure:
    """Level sets of D(p, x) over the plane, the decision boundary c = 0 in bold, and the attack's path.

    path: the iterates' coordinates (`plane.project(iterates)`), coloured by `steps` (default 0, 1, …); first_adv,
    best: the (a, b) of the first and of the best adversarial; highlight_step: the step (of `steps`) to ring.
    The origin is the clean input x; axes are in units of D along u and v, with equal aspect. The title says which
    share of the grid was clamped into the box (see `evaluate_slice`).
    """
    a, b = plane.a.numpy(), plane.b.numpy()
    data: list[Dict] = [
        dict(type="contour", x=a, y=b, z=plane.distance.numpy(), name=f"{distance_label} level sets",
             colorscale="Blues", reversescale=True, opacity=0.85, contours=dict(coloring="heatmap", showlabels=True),
             colorbar=dict(title=dict(text=distance_label), x=1.0, len=0.9), hoverinfo="skip"),
        dict(type="contour", x=a, y=b, z=plane.constraint.numpy(), name="decision boundary c = 0", showlegend=True,
             contours=dict(type="constraint", operation="=", value=0), line=dict(color=BOUNDARY_COLOR, width=4),
             hoverinfo="skip"),
    ]
    if path is not None:
        steps = np.arange(len(path.a)) if steps is None else np.asarray(steps)
        data.append(dict(type="scatter", mode="lines+markers", x=path.a.numpy(), y=path.b.numpy(),
                         name="iterates x̃⁽ⁱ⁾ (projected)", line=dict(color="rgba(80, 80, 80, 0.5)", width=1),
                         marker=dict(size=6, color=steps, colorscale="Viridis",
                                     colorbar=dict(title=dict(text="step"), x=1.12, len=0.9)),
                         customdata=np.stack([steps, path.residual.numpy()], 1),
                         hovertemplate="step %{customdata[0]}<br>a %{x:.4g}, b %{y:.4g}"
                                       "<br>off the plane (ℓ2) %{customdata[1]:.3g}<extra></extra>"))
        if highlight_step is not None:
            i = int(np.abs(steps - highlight_step).argmin())
            data.append(_marker((float(path.a[i]), float(path.b[i])), f"step {steps[i]}", "circle-open",
                                HIGHLIGHT_COLOR, size=18, line=dict(width=3, color=HIGHLIGHT_COLOR)))
    data.append(_marker((0.0, 0.0), "clean input x", "circle", "black", size=11))
    if first_adv is not None:
        data.append(_marker(first_adv, "first adversarial", "diamond", FIRST_ADV_COLOR))
    if best is not None:
        data.append(_marker(best, "best adversarial x̃*", "star", BEST_COLOR, size=16))
    title = (f"Decision boundary on a 2-D slice through x: a projection of a path in d = {plane.dim} dimensions"
             + ("" if plane.complete else " (grid incomplete)"))
    if plane.clamped.any():
        share = 100 * plane.clamped.float().mean().item()
        title += (f"<br><sup>{share:.1f} % of the grid lies outside [0, 1]ᵈ: there c and D are those of the point "
                  "clamped into the box</sup>")
    layout = dict(title=dict(text=title, font=dict(size=15)), height=height, margin=dict(l=10, r=10, t=70, b=10),
                  xaxis=dict(title=dict(text=f"a: {distance_label} along u"), constrain="domain"),
                  yaxis=dict(title=dict(text=f"b: {distance_label} along v"), scaleanchor="x", scaleratio=1),
                  legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0), uirevision="keep")
    return go.Figure(dict(data=data, layout=layout))
