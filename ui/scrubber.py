"""The step scrubber of a finished run: the iterate at step k beside the clean image, the amplified difference, the
per-pixel map of the distance, the model's top-5 at k and D, c, μ, ρ, η at k; a cursor at k on every chart, and a
click on a chart moves the scrubber to that step. Play advances it at a chosen speed.

The panel is a fragment: moving the scrubber reruns the panel only. Its step lives in `st.session_state[STEP_KEY]`
(other pages, e.g. the geometry view, read it).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch
from torch import nn

from alma import distances
from alma.models import ModelInfo
from alma.trace import Trace

from .images import image_panels
from .live_chart import live_charts
from .outcome import RunOutcome, pixel_map, predict

STEP_KEY, PLAY_KEY, SPEED_KEY = "scrub_step", "scrub_play", "scrub_speed"
TICK_S = 0.2
"""Seconds between two frames while playing."""
SPEEDS = (10, 25, 50, 100, 250, 500)
"""Steps per second while playing."""


def scrubber(outcome: RunOutcome, info: ModelInfo, model: nn.Module | None, key: str = "scrub") -> None:
    """The run's charts with the scrubber (or the charts alone when the run kept no snapshots)."""
    snapshots = outcome.trace.snapshots
    label = distances.get(outcome.config.attack.distance).label
    if snapshots is None or not len(snapshots):
        live_charts({"": outcome.trace}, outcome.config.attack.num_steps, label, key=f"{key}_charts")
        return
    playing = bool(st.session_state.get(PLAY_KEY))
    fragment = st.fragment(_panel, run_every=TICK_S if playing else None)
    fragment(outcome, info, model, key, playing)


def _panel(outcome: RunOutcome, info: ModelInfo, model: nn.Module | None, key: str, was_playing: bool) -> None:
    snapshots = outcome.trace.snapshots
    every = int(snapshots.steps[1] - snapshots.steps[0]) if len(snapshots) > 1 else 1
    last = int(snapshots.steps[-1])
    if st.session_state.get(STEP_KEY, -1) not in range(0, last + 1, every):
        st.session_state[STEP_KEY] = last
    playing = bool(st.session_state.get(PLAY_KEY))
    if playing:
        _advance(every, last)
    if playing != was_playing:  # the panel's timer starts or stops with a redraw of the page
        st.rerun()

    st.markdown("**Step through the attack**" + (f" (a snapshot every {every} steps)" if every > 1 else ""))
    back, slider, forward, play, speed = st.columns([1, 8, 1, 2, 2], vertical_alignment="bottom")
    back.button("", icon=":material/chevron_left:", key=f"{key}_back", on_click=_move, args=(-every, every, last),
                help="One step back")
    if last > 0:
        slider.slider("Step k", 0, last, step=every, key=STEP_KEY,
                      help="The iterate x̃ at step k: the input of trace row k.")
    forward.button("", icon=":material/chevron_right:", key=f"{key}_forward", on_click=_move, args=(every, every, last),
                   help="One step forward")
    play.toggle("Play", key=PLAY_KEY, on_change=_rewind_if_at_end, args=(last,))
    if SPEED_KEY not in st.session_state:
        st.session_state[SPEED_KEY] = 100
    speed.selectbox("Steps / s", SPEEDS, key=SPEED_KEY)

    k = int(st.session_state[STEP_KEY])
    index = k // every
    iterate = snapshots.images[index, 0].float()
    _images(outcome, iterate, k)
    _values(outcome, info, model, iterate, k, f"{key}_{k}")
    label = distances.get(outcome.config.attack.distance).label
    live_charts({"": outcome.trace}, outcome.config.attack.num_steps, label, key=f"{key}_charts", cursor=k,
                on_click=lambda: _clicked(f"{key}_charts", every, last))


def paused_iterate(clean: torch.Tensor, iterate: tuple[int, torch.Tensor] | None, trace: Trace,
                   distance: str) -> None:
    """While a run is paused: its current iterate (the latest snapshot) beside the clean image, and the difference."""
    if iterate is None:
        return
    k, images = iterate
    row = k - trace.start
    value = f" ({distances.get(distance).label} = {float(trace.distance[row, 0]):.4g})" if row < trace.num_steps else ""
    st.markdown(f"**Paused: the iterate at step {k}**{value}")
    panels = image_panels(clean, images[0].float(), None, "", f"Iterate at step {k}")
    for column, (png, caption) in zip(st.columns(4), panels):
        column.image(png, caption=caption, output_format="PNG")


def _images(outcome: RunOutcome, iterate: torch.Tensor, k: int) -> None:
    per_pixel = pixel_map(outcome.config.attack.distance, outcome.clean[None], iterate[None])
    label = distances.get(outcome.config.attack.distance).label
    panels = image_panels(outcome.clean, iterate, per_pixel, label, f"Iterate at step {k}")
    for column, (png, caption) in zip(st.columns(4), panels):
        column.image(png, caption=caption, output_format="PNG")


def _values(outcome: RunOutcome, info: ModelInfo, model: nn.Module | None, iterate: torch.Tensor, k: int,
            memo: str) -> None:
    trace = outcome.trace
    row = k - trace.start
    label = distances.get(outcome.config.attack.distance).label
    values = ((label, f"{float(trace.distance[row, 0]):.4g}"), ("c", f"{float(trace.constraint[row, 0]):.3g}"),
              ("μ", f"{float(trace.mu[row, 0]):.3g}"), ("ρ", f"{float(trace.rho[row, 0]):.3g}"),
              ("η", f"{float(trace.lr[row, 0]):.3g}"),
              ("adversarial", "yes" if bool(trace.is_adv[row, 0]) else "no"))
    metrics, top = st.columns([3, 2])
    with metrics:  # two rows of three: a value never gets cut off
        for row in (values[:3], values[3:]):
            for column, (name, value) in zip(st.columns(3), row):
                column.metric(f"{name} at step {k}", value)
    if model is not None:
        cache = st.session_state.setdefault("scrub_predictions", {})
        if memo not in cache:
            device = next(model.parameters(), torch.empty(0)).device
            cache.clear() if len(cache) > 256 else None
            cache[memo] = predict(model, iterate.to(device))
        names = info.class_names
        top.dataframe(pd.DataFrame([{"class": names[i] if i < len(names) else str(i), "probability": p}
                                    for i, p in cache[memo].top()]), hide_index=True, height=220,
                      column_config={"probability": st.column_config.ProgressColumn(format="percent", min_value=0.0,
                                                                                    max_value=1.0)})


def _advance(every: int, last: int) -> None:
    """One frame of Play: the speed's worth of steps; stops at the last snapshot."""
    ahead = max(every, round(st.session_state[SPEED_KEY] * TICK_S / every) * every)
    k = min(int(st.session_state[STEP_KEY]) + ahead, last)
    st.session_state[STEP_KEY] = k
    if k >= last:
        st.session_state[PLAY_KEY] = False


def _move(delta: int, every: int, last: int) -> None:
    st.session_state[STEP_KEY] = min(max(int(st.session_state[STEP_KEY]) + delta, 0), last)
    st.session_state[PLAY_KEY] = False


def _rewind_if_at_end(last: int) -> None:
    if st.session_state.get(PLAY_KEY) and int(st.session_state[STEP_KEY]) >= last:
        st.session_state[STEP_KEY] = 0


def _clicked(chart_key: str, every: int, last: int) -> None:
    step = (st.session_state.get(chart_key) or {}).get("step")
    if step is not None:
        st.session_state[STEP_KEY] = min(max(int(step) // every * every, 0), last)
        st.session_state[PLAY_KEY] = False
