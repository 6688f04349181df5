"""Two saved runs side by side (e.g. EMA on and off, or ℓ2 and CIEDE2000 on one image): their charts overlaid, the
settings that differ, their images, and their metrics with the deltas."""
from __future__ import annotations

import math
from dataclasses import asdict

import pandas as pd
import streamlit as st

from ..images import image_panels
from ..outcome import RunOutcome
from ..panels import METRICS, trace_charts
from ..store.store import RunStore, RunSummary
from .gallery import distance_label
from .navigation import COMPARE, back_button, show
from .view import reopen

_A, _B = "lib_compare_a", "lib_compare_b"


def compare_runs(store: RunStore, runs: list[RunSummary], ids: list[str]) -> None:
    back_button()
    names = {r.id: r.name for r in runs}
    if len(ids) != 2:
        st.error("Compare needs two run ids (?compare=<id>,<id>).")
        return
    _pickers(names, ids)
    found = [reopen(store, run_id) for run_id in ids]
    if None in found:
        return
    (record_a, a), (record_b, b) = found
    labels = (f"A · {record_a.name}", f"B · {record_b.name}")
    _settings(a, b)
    num_steps = max(a.config.attack.num_steps, b.config.attack.num_steps)
    if a.config.attack.distance != b.config.attack.distance:
        st.info(f"A measures {distance_label(a.config.attack.distance)}, B {distance_label(b.config.attack.distance)}: "
                "the distance chart overlays two different scales.", icon=":material/info:")
    trace_charts({labels[0]: a.trace, labels[1]: b.trace}, num_steps, a.config.attack.distance, key="lib_compare")
    for label, outcome in zip(labels, (a, b)):
        st.markdown(f"**{label}**")
        panels = image_panels(outcome.clean, outcome.adversarial, outcome.distance_map,
                              distance_label(outcome.config.attack.distance), "Adversarial")
        for column, (png, caption) in zip(st.columns(4), panels):
            column.image(png, caption=caption, output_format="PNG")
    st.markdown("**Metrics** (Δ = B − A)")
    st.dataframe(metrics_table(a, b), hide_index=True)


def _pickers(names: dict[str, str], ids: list[str]) -> None:
    """Two selectboxes that change the pair (and the URL)."""
    options = list(names)
    for key, run_id in zip((_A, _B), ids):
        if run_id in names:
            st.session_state[key] = run_id
    left, right = st.columns(2)
    for column, key, label in ((left, _A, "Run A"), (right, _B, "Run B")):
        if key in st.session_state:
            column.selectbox(label, options, key=key, format_func=lambda i: f"{names[i]} ({i[:8]})",
                             on_change=lambda: show({COMPARE: f"{st.session_state[_A]},{st.session_state[_B]}"}))


def _settings(a: RunOutcome, b: RunOutcome) -> None:
    """The settings in which the two runs differ."""
    left = {"model": a.config.model, "input": a.config.input.describe(), "device": a.config.device,
            **asdict(a.config.attack)}
    right = {"model": b.config.model, "input": b.config.input.describe(), "device": b.config.device,
             **asdict(b.config.attack)}
    rows = [{"setting": name, "A": str(left[name]), "B": str(right[name])}
            for name in left if left[name] != right[name]]
    if rows:
        st.markdown("**Settings that differ**")
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption("Both runs have the same settings.")


def metrics_table(a: RunOutcome, b: RunOutcome) -> pd.DataFrame:
    """Metric, A, B and B − A: the final distance of each run, every distance of the final adversarials, steps,
    first adversarial step, wall time."""
    rows = [("Final D (own distance)", _finite(a.distance), _finite(b.distance))]
    rows += [(label, a.metrics[name], b.metrics[name]) for name, label, *_ in METRICS
             if name in a.metrics and name in b.metrics]
    rows += [("Steps", a.steps, b.steps), ("First adversarial step", a.first_adv_step, b.first_adv_step),
             ("Success", int(a.success), int(b.success)), ("Wall time (s)", a.wall_seconds, b.wall_seconds)]
    return pd.DataFrame([{"metric": name, "A": x, "B": y,
                          "Δ": None if x is None or y is None else y - x} for name, x, y in rows])


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value
