"""The "Export for slides" panel: an animated GIF or MP4 of a run (or of two runs, one above the other) and a
self-contained HTML report, made on request and offered as downloads."""
from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from alma import distances
from alma.models import ModelInfo

from . import export
from .outcome import RunOutcome
from .text import safe_file_name

MAX_FRAMES = 400


def export_panel(runs: Mapping[str, RunOutcome], info: ModelInfo, key: str) -> None:
    """Frame count and speed, then GIF, MP4 and HTML report buttons; a made file stays offered until the next run."""
    with st.expander("Export for slides: GIF, MP4, HTML report", icon=":material/movie:"):
        animated = all(o.trace.snapshots is not None and len(o.trace.snapshots) for o in runs.values())
        frames_col, fps_col = st.columns(2)
        count = frames_col.number_input("Frames", 2, MAX_FRAMES, export.DEFAULT_FRAMES, key=f"{key}_frames",
                                        disabled=not animated)
        fps = fps_col.number_input("Frames per second", 1, 60, export.DEFAULT_FPS, key=f"{key}_fps",
                                   disabled=not animated)
        made = st.session_state.setdefault(f"{key}_made", {})
        stamp = tuple(id(o) for o in runs.values())
        if made.get("runs") != stamp:
            made.clear()
            made["runs"] = stamp
        gif, mp4, report = st.columns(3)
        if gif.button("Make GIF", key=f"{key}_gif", disabled=not animated, width="stretch"):
            with st.spinner("Drawing the frames…"):
                made["gif"] = export.to_gif(_frames(runs, int(count)), fps)
        if mp4.button("Make MP4", key=f"{key}_mp4", disabled=not animated, width="stretch"):
            with st.spinner("Drawing the frames and encoding…"):
                made["mp4"] = export.to_mp4(_frames(runs, int(count)), fps)
        if report.button("Make HTML report", key=f"{key}_html", width="stretch"):
            report_html = export.html_report(runs, title=f"ALMA on {info.label}", class_names=info.class_names)
            made["html"] = report_html.encode()
        stem = f"alma_{next(iter(runs.values())).config.model}"
        for column, kind, mime in ((gif, "gif", "image/gif"), (mp4, "mp4", "video/mp4"),
                                   (report, "html", "text/html")):
            if kind in made:
                column.download_button(f"Download {kind.upper()} ({len(made[kind]) / 2**20:.1f} MB)", made[kind],
                                       safe_file_name(stem, kind), mime, key=f"{key}_{kind}_download",
                                       on_click="ignore", icon=":material/download:", width="stretch")
        if not animated:
            st.caption("This run kept no snapshots of its iterates: only the report can be made.")


def _frames(runs: Mapping[str, RunOutcome], count: int) -> list:
    """One animation per run (titled by the run when there are several), stacked; one difference scale for all."""
    outcomes = list(runs.values())
    factor = min(export.difference_factor(o.clean, o.trace.snapshots.images[:, 0]) for o in outcomes)
    animations = [export.animation_frames(o.clean, o.trace.snapshots.images[:, 0], o.trace.snapshots.steps, o.trace,
                                   distances.get(o.config.attack.distance).label, num_frames=count,
                                   title=name if len(runs) > 1 else "", factor=factor)
                  for name, o in runs.items()]
    return export.stack_frames(*animations) if len(animations) > 1 else animations[0]
