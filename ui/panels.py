"""What a page shows of a run: the trace charts (live or final) and the result panel with its downloads."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import streamlit as st

from alma import distances
from alma.models import ModelInfo
from alma.trace import Trace

from . import figures
from .images import image_panels, image_png
from .outcome import Prediction, RunOutcome
from .text import markdown_text, readable, safe_file_name

METRICS = (("l0", "ℓ0 (pixels)"), ("l1", "ℓ1"), ("l2", "ℓ2"), ("linf", "ℓ∞"), ("ciede2000", "CIEDE2000"),
           ("lpips", "LPIPS"), ("ssim", "1 − SSIM"))
METRICS_PER_ROW = 4
"""Four a row, each at most about eight characters (`ui.text.readable`): readable at 1400 px; the full value on
hover (the downloads are exact)."""
CHARTS = (figures.distance_chart, figures.constraint_chart, figures.mu_chart, figures.rho_chart, figures.lr_chart,
          figures.grad_norm_chart)


CHART_CONFIG = {"displaylogo": False}


def trace_charts(traces: Mapping[str, Trace], num_steps: int, distance: str, key: str) -> None:
    """Distance, constraint, μ, ρ, η and gradient norm of a finished run, two per row (`ui.live_chart` draws a
    running one)."""
    df = figures.trace_frame(traces)
    label = distances.get(distance).label
    for row in range(0, len(CHARTS), 2):
        for column, chart in zip(st.columns(2), CHARTS[row:row + 2]):
            fig = chart(df, num_steps, label) if chart is figures.distance_chart else chart(df, num_steps)
            with column:
                st.plotly_chart(fig, config=CHART_CONFIG, key=f"{key}_{chart.__name__}")


def class_name(info: ModelInfo, index: int) -> str:
    return f"{index}: {info.class_names[index]}" if info.dataset != "mnist" else info.class_names[index]


def result_panel(outcome: RunOutcome, info: ModelInfo, key: str = "result") -> None:
    """Images, predictions, metrics and downloads of a finished run."""
    _headline(outcome, info)
    _images(outcome)
    _predictions(outcome, info)
    _metrics(outcome)
    _downloads(outcome, info, key)


def _headline(outcome: RunOutcome, info: ModelInfo) -> None:
    settings = outcome.config.attack
    goal = f"targeted at {markdown_text(class_name(info, settings.target))}" if settings.targeted else "untargeted"
    stopped = f", stopped after {outcome.steps} of {settings.num_steps} steps" if outcome.stopped else ""
    if outcome.success:
        st.success(f"Adversarial found ({goal}{stopped}): {distances.get(settings.distance).label} = "
                   f"{outcome.distance:.4g}.", icon=":material/check_circle:")
    else:
        st.warning(f"No adversarial found ({goal}{stopped}): the result is the clean image. Try more steps or a "
                   "larger ε.", icon=":material/cancel:")
    before, after = st.columns(2)
    before.metric("Original prediction", markdown_text(class_name(info, outcome.before.label)),
                  f"{outcome.before.confidence:.1%} confidence", delta_color="off", delta_arrow="off")
    after.metric("Adversarial prediction", markdown_text(class_name(info, outcome.after.label)),
                 f"{outcome.after.confidence:.1%} confidence", delta_color="off", delta_arrow="off")


def _images(outcome: RunOutcome) -> None:
    label = distances.get(outcome.config.attack.distance).label
    panels = image_panels(outcome.clean, outcome.adversarial, outcome.distance_map, label, "Adversarial")
    for column, (png, caption) in zip(st.columns(4), panels):
        column.image(png, caption=caption, output_format="PNG")


def _top5(prediction: Prediction, info: ModelInfo) -> pd.DataFrame:
    return pd.DataFrame([{"class": class_name(info, i), "probability": p} for i, p in prediction.top()])


def _predictions(outcome: RunOutcome, info: ModelInfo) -> None:
    column_config = {"probability": st.column_config.ProgressColumn("probability", format="percent", min_value=0.0,
                                                                    max_value=1.0)}
    for column, title, prediction in zip(st.columns(2), ("Top-5 before", "Top-5 after"),
                                         (outcome.before, outcome.after)):
        column.markdown(f"**{title}**")
        column.dataframe(_top5(prediction, info), hide_index=True, column_config=column_config)


def _metrics(outcome: RunOutcome) -> None:
    st.markdown("**The final adversarial, measured with every distance**")
    available = [(name, label) for name, label in METRICS if name in outcome.metrics]
    for row in range(0, len(available), METRICS_PER_ROW):
        for column, (name, label) in zip(st.columns(METRICS_PER_ROW), available[row:row + METRICS_PER_ROW]):
            value = float(outcome.metrics[name])
            column.metric(label, f"{value:.0f}" if name == "l0" else readable(value), help=f"{label} = {value!r}")
    first = outcome.first_adv_step
    config = outcome.config
    device = config.device + (f" · {config.cpu_threads} thread{'s' if config.cpu_threads > 1 else ''}"
                              if config.device == "cpu" else "")
    facts = (("Success", "yes" if outcome.success else "no"),
             ("First adversarial step", "none" if first is None else str(first)),
             ("Forwards / backwards", f"{outcome.num_forwards} / {outcome.num_backwards}"),
             ("Wall time", f"{outcome.wall_seconds:.2f} s ({outcome.steps / max(outcome.wall_seconds, 1e-9):.0f}"
                           " steps/s)"),
             ("Device", device),
             ("Steps run", f"{outcome.steps} of {config.attack.num_steps}" if outcome.stopped else str(outcome.steps)))
    st.markdown("**The run**")
    for row in (facts[:3], facts[3:]):
        for column, (label, value) in zip(st.columns(3), row):
            column.metric(label, value)


def _still_adversarial(outcome: RunOutcome, prediction: Prediction) -> bool:
    settings = outcome.config.attack
    return prediction.label == settings.target if settings.targeted else prediction.label != outcome.before.label


def _downloads(outcome: RunOutcome, info: ModelInfo, key: str) -> None:
    settings = outcome.config.attack
    stem = f"alma_{outcome.config.model}_{settings.distance}"
    name = lambda suffix, extension: safe_file_name(stem + suffix, extension)
    frame = outcome.trace.to_dataframe().replace([np.inf, -np.inf], np.nan)
    png, csv, trace_json, config = st.columns(4)
    png.download_button("Adversarial (PNG)", image_png(outcome.adversarial, enlarge=False), name("", "png"),
                        "image/png", key=f"{key}_png", on_click="ignore", icon=":material/download:",
                        width="stretch")
    csv.download_button("Trace (CSV)", frame.to_csv(index=False), name("_trace", "csv"), "text/csv",
                        key=f"{key}_csv", on_click="ignore", icon=":material/download:", width="stretch")
    trace_json.download_button("Trace (JSON)", frame.to_json(orient="records"), name("_trace", "json"),
                               "application/json", key=f"{key}_trace_json", on_click="ignore",
                               icon=":material/download:", width="stretch")
    config.download_button("Run config (JSON)", outcome.config.to_json(), name("_config", "json"), "application/json",
                           key=f"{key}_config", on_click="ignore", icon=":material/download:", width="stretch")
    if outcome.success:
        if _still_adversarial(outcome, outcome.after_8bit):
            st.caption(f"The PNG stores 8 bits per channel; the rounded image is still adversarial (classified as "
                       f"{markdown_text(class_name(info, outcome.after_8bit.label))}).")
        else:
            st.warning(f"The PNG stores 8 bits per channel and the rounding undoes this attack (the rounded image is "
                       f"classified as {markdown_text(class_name(info, outcome.after_8bit.label))}). Attack in 8-bit "
                       "levels (the explorer's default) to download an adversarial PNG.", icon=":material/info:")
