"""A run (or several, e.g. EMA on and off) as one self-contained HTML page that opens offline: Plotly's JavaScript
inlined once, images as base64 PNG, no request to any server (a Content-Security-Policy forbids them).

Every string that a user can choose (run names, file and sample names, class names, settings) is escaped: on this
page it is text, never markup. Plotly parses a subset of HTML in trace names and titles, so the run names it gets
are escaped too (it shows the entities as the characters they stand for).
"""
from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from alma import distances
from ui import figures
from ui.images import image_panels
from ui.outcome import Prediction, RunOutcome

CHARTS = (("distance", figures.distance_chart), ("constraint", figures.constraint_chart),
          ("mu", figures.mu_chart), ("rho", figures.rho_chart), ("lr", figures.lr_chart),
          ("grad-norm", figures.grad_norm_chart))
"""The trace charts of the explorer, by the id of their div (`chart-<name>`)."""
METRICS = (("l0", "ℓ0 (pixels)", "{:.0f}"), ("l1", "ℓ1", "{:.4g}"), ("l2", "ℓ2", "{:.4g}"), ("linf", "ℓ∞", "{:.4g}"),
           ("ciede2000", "CIEDE2000", "{:.4g}"), ("lpips", "LPIPS", "{:.4g}"), ("ssim", "1 − SSIM", "{:.4g}"))
POLICY = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
          "img-src data: blob:; font-src data:")
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; padding: 0 16px; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } tr.differs td { background: #fff6d6; }
.images { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.images img { width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
figure { margin: 0; } figcaption { font-size: 0.85em; color: #555; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; } .charts.overlaid { grid-template-columns: 1fr; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 0.85em; }
"""


def html_report(runs: Mapping[str, RunOutcome], title: str = "ALMA run", class_names: Sequence[str] | None = None,
                geometry: go.Figure | None = None) -> str:
    """The page of `runs` (name → outcome; one run, or several compared with their charts overlaid): summary,
    images, metrics, the trace charts, `geometry` (a figure) when given, the settings and the package versions.
    `class_names`: the model's class names (None: the class numbers)."""
    if not runs:
        raise ValueError("a report needs at least one run")
    names = list(runs)
    label = distances.get(next(iter(runs.values())).config.attack.distance).label
    sections = [
        f"<h1>{_e(title)}</h1>",
        _section("Summary", _table(["", *names], _summary_rows(runs, class_names or (), label))),
        _section("Images", "".join(_images(name, outcome, len(runs) > 1) for name, outcome in runs.items())),
        _section("The final adversarial, measured with every distance", _table(["", *names], _metric_rows(runs))),
        _section("Trace", f'<div class="charts{" overlaid" if len(runs) > 1 else ""}">{_charts(runs, label)}</div>'),
    ]
    if geometry is not None:
        sections.append(_section("Geometry", _plot(geometry, "chart-geometry")))
    sections += [
        _section("Settings", _table(["setting", *names], _settings_rows(runs), highlight=len(runs) > 1)),
        _section("Package versions", _table(["package", *names], _version_rows(runs), highlight=len(runs) > 1)),
        _section("Run configs (JSON: load one in the explorer to rerun it)",
                 "".join(f"<h3>{_e(name)}</h3><pre>{_e(outcome.config.to_json())}</pre>"
                         for name, outcome in runs.items())),
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{STYLE}</style>"
            f"<script>{get_plotlyjs()}</script></head>\n<body>\n" + "\n".join(sections) + "\n</body></html>\n")


# --- building blocks ---------------------------------------------------------------------------------------------

def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _section(heading: str, body: str) -> str:
    return f"<section><h2>{_e(heading)}</h2>{body}</section>"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], highlight: bool = False) -> str:
    """A table of plain values (all escaped); `highlight`: mark rows whose values (after the first cell) differ."""
    head = "".join(f"<th>{_e(cell)}</th>" for cell in header)
    body = []
    for row in rows:
        differs = highlight and len({str(cell) for cell in row[1:]}) > 1
        cells = f"<th>{_e(row[0])}</th>" + "".join(f"<td>{_e(cell)}</td>" for cell in row[1:])
        body.append(f'<tr class="differs">{cells}</tr>' if differs else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png(data: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'


def _plot(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)


# --- sections ----------------------------------------------------------------------------------------------------

def _class_name(class_names: Sequence[str], index: int) -> str:
    name = class_names[index] if 0 <= index < len(class_names) else str(index)
    return name if name == str(index) else f"{index}: {name}"


def _prediction(prediction: Prediction, class_names: Sequence[str]) -> str:
    return f"{_class_name(class_names, prediction.label)} ({prediction.confidence:.1%})"


def _summary_rows(runs: Mapping[str, RunOutcome], class_names: Sequence[str], label: str) -> list[list[object]]:
    def row(heading: str, value: Callable[[RunOutcome], object]) -> list[object]:
        return [heading, *(value(outcome) for outcome in runs.values())]

    def goal(outcome: RunOutcome) -> str:
        settings = outcome.config.attack
        return f"targeted at {_class_name(class_names, settings.target)}" if settings.targeted else "untargeted"

    return [
        row("Model", lambda o: o.config.model),
        row("Input", lambda o: o.config.input.describe()),
        row("Attack", lambda o: f"{goal(o)}, {distances.get(o.config.attack.distance).label}"),
        row("Result", lambda o: "adversarial found" if o.success else "no adversarial found"),
        row(f"Final {label}", lambda o: f"{o.distance:.4g}" if o.success else "—"),
        row("First adversarial step", lambda o: "none" if o.first_adv_step is None else o.first_adv_step),
        row("Steps run", lambda o: f"{o.steps} of {o.config.attack.num_steps}" + (" (stopped)" if o.stopped else "")),
        row("Original prediction", lambda o: _prediction(o.before, class_names)),
        row("Adversarial prediction", lambda o: _prediction(o.after, class_names)),
        row("Rounded to 8 bits (PNG)", lambda o: _prediction(o.after_8bit, class_names)),
        row("Forwards / backwards", lambda o: f"{o.num_forwards} / {o.num_backwards}"),
        row("Wall time", lambda o: f"{o.wall_seconds:.2f} s on {o.config.device}" + (
            f" ({o.config.cpu_threads} thread{'s' if o.config.cpu_threads > 1 else ''})"
            if o.config.device == "cpu" else "")),
    ]


def _images(name: str, outcome: RunOutcome, titled: bool) -> str:
    label = distances.get(outcome.config.attack.distance).label
    panels = image_panels(outcome.clean, outcome.adversarial, outcome.distance_map, label, "Adversarial")
    figures_html = "".join(f"<figure>{_png(png, caption)}<figcaption>{_e(caption)}</figcaption></figure>"
                           for png, caption in panels)
    return (f"<h3>{_e(name)}</h3>" if titled else "") + f'<div class="images">{figures_html}</div>'


def _metric_rows(runs: Mapping[str, RunOutcome]) -> list[list[object]]:
    return [[label, *(fmt.format(o.metrics[name]) if name in o.metrics else "—" for o in runs.values())]
            for name, label, fmt in METRICS if any(name in o.metrics for o in runs.values())]


def _charts(runs: Mapping[str, RunOutcome], label: str) -> str:
    """The trace charts, runs overlaid; one run is unnamed, so that its charts read as the explorer's."""
    traces = {_e(name) if len(runs) > 1 else "": outcome.trace for name, outcome in runs.items()}
    df = figures.trace_frame(traces)
    num_steps = max(outcome.config.attack.num_steps for outcome in runs.values())
    return "".join(_plot(chart(df, num_steps, label) if chart is figures.distance_chart else chart(df, num_steps),
                         f"chart-{name}") for name, chart in CHARTS)


def _settings_rows(runs: Mapping[str, RunOutcome]) -> list[list[object]]:
    configs = [outcome.config for outcome in runs.values()]
    rows = [["model", *(c.model for c in configs)], ["input", *(c.input.describe() for c in configs)],
            ["MNIST polarity inverted", *("automatic" if c.input.invert is None else c.input.invert
                                          for c in configs)],
            ["device", *(c.device for c in configs)], ["CPU threads", *(c.cpu_threads for c in configs)]]
    settings = [asdict(c.attack) for c in configs]
    return rows + [[name, *(_setting(s[name]) for s in settings)] for name in settings[0]]


def _setting(value: object) -> object:
    return f"{value:.12g}" if isinstance(value, float) else value


def _version_rows(runs: Mapping[str, RunOutcome]) -> list[list[object]]:
    versions = [outcome.config.versions for outcome in runs.values()]
    packages = list(dict.fromkeys(name for v in versions for name in v))
    return [[name, *(v.get(name, "—") for v in versions)] for name in packages]
