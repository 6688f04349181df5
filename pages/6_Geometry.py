"""Geometry: the decision boundary around the last run's clean input on a 2-D slice, with the attack's path on it."""
from __future__ import annotations

from functools import partial

import streamlit as st

from alma import distances
from ui import live
from ui.figures_geometry import geometry_figure
from ui.geometry_task import (
    DIRECTIONS,
    GRID,
    RESOLUTIONS,
    Geometry,
    GeometryTask,
    cost,
    default_resolution,
    estimate_seconds,
    guessed_seconds_per_forward,
    threads,
)
from ui.history import session_history
from ui.jobs import Phase, Snapshot
from ui.outcome import RunOutcome
from ui.text import markdown_text

PREFIX = "geo_"
RUN_KEY, RESULT_KEY, NOTE_KEY, SPEED_KEY, FOR_KEY = (f"{PREFIX}{name}" for name in
                                                     ("run", "result", "note", "speed", "for"))
STEP_KEY, SEEN_KEY = f"{PREFIX}step", f"{PREFIX}scrub_seen"
SCRUB_KEY = "scrub_step"  # the explorer's scrubber step: the default highlighted step
DEFAULT_EXTENT = 1.5


def _init(key: str, default: object, options: list | tuple | None = None, reset: bool = False) -> None:
    if reset or key not in st.session_state or (options is not None and st.session_state[key] not in options):
        st.session_state[key] = default


def _speed_key(outcome: RunOutcome) -> tuple[str, str, int]:
    return outcome.config.model, outcome.config.device, threads(outcome)


def _keep(outcome: RunOutcome, result: Geometry | None) -> None:
    """The job's end: its slice for this run, or a note when it was stopped before the grid."""
    st.session_state.pop(NOTE_KEY, None)
    if result is not None:
        st.session_state[RESULT_KEY] = (outcome, result)
        if result.points:
            st.session_state.setdefault(SPEED_KEY, {})[_speed_key(outcome)] = result.seconds_per_forward
    elif live.last_error(RUN_KEY) is None:
        st.session_state[NOTE_KEY] = "Stopped before the grid was evaluated: nothing to show."


def _draw_live(run: live.ActiveRun, snapshot: Snapshot) -> None:
    if snapshot.phase is Phase.WAITING:
        live.status(run, snapshot)
        return
    done, total = snapshot.progress.get(GRID, (0, run.total_steps))
    seconds = snapshot.active_seconds
    eta = f" · ETA {seconds * (total - done) / done:.1f} s" if 0 < done < total else ""
    state = "stopping" if snapshot.stopped else "preparing" if not done else "running"
    st.progress(min(done / max(total, 1), 1.0), text=f"{state} · {done} of {total} grid points · {seconds:.1f} s{eta}")


def _scrubbed() -> int | None:
    """The explorer's scrubber step, remembered here (its widget state goes once another page has run); when it
    moves, this page's slider follows it."""
    scrub = st.session_state.get(SCRUB_KEY)
    if scrub is not None and scrub != st.session_state.get(SEEN_KEY):
        st.session_state[SEEN_KEY] = scrub
        st.session_state.pop(STEP_KEY, None)
    return st.session_state.get(SEEN_KEY)


def _highlight(steps: list[int], scrubbed: int | None) -> int:
    """The highlighted step: this page's choice, else the snapshot nearest the scrubber's step, else the last."""
    _init(STEP_KEY, steps[-1] if scrubbed is None else min(steps, key=lambda s: abs(s - scrubbed)), steps)
    return st.select_slider("Highlighted step", steps, key=STEP_KEY,
                            help="Rings this step's iterate on the path; the explorer's scrubber sets it too.")


def _show(result: Geometry, label: str, d: int, scrubbed: int | None) -> None:
    plane = result.plane
    if not plane.complete:
        st.warning(f"Stopped: {result.points} of {result.resolution ** 2} grid points were evaluated; the rest of "
                   "the slice is blank.", icon=":material/stop_circle:")
    steps = None if result.steps is None else [int(s) for s in result.steps]
    highlight = _highlight(steps, scrubbed) if steps else None
    st.plotly_chart(geometry_figure(plane, result.path, result.steps, first_adv=result.first_adv, best=result.best,
                                    highlight_step=highlight, distance_label=label), key=f"{PREFIX}figure")
    toward = "x̃*" if result.best is not None else "the last iterate (the run found no adversarial)"
    st.caption(f"This is a 2-D projection of a path in d = {d} dimensions: u points from x to {toward}, v along "
               f"{DIRECTIONS[result.direction]} made orthogonal to u; each iterate is drawn at its components along u "
               f"and v (its ℓ2 distance to the plane shows on hover), so the drawn path can cross the boundary where "
               f"the iterate does not. Axes in units of {label}.")
    if result.path is None:
        st.caption("This run kept no iterates: only x, x̃* and the boundary are shown.")
    st.caption(f"{result.resolution} × {result.resolution} grid within ±{result.extent:g}·‖δ‖₂: {result.points} "
               f"points in {result.seconds:.2f} s ({result.seconds_per_forward * 1e3:.2f} ms per point).")


st.title("Geometry")
st.markdown(
    "Where does the decision boundary lie around the image, and how did the attack cross it? The slice below is "
    "the plane through the clean input x spanned by the attack's best perturbation δ* and a second direction: on it, "
    "the level sets of the attack's distance D, the boundary c = 0 in bold, and the attack's iterates projected on "
    "the plane, coloured by step.")

latest = session_history().latest()
if latest is None:
    st.info("No run yet in this session: run an attack on the Attack explorer page, then come back.",
            icon=":material/info:")
    st.stop()

scrubbed = _scrubbed()
settings = latest.config.attack
label = distances.get(settings.distance).label
d = latest.clean.numel()
new_run = st.session_state.get(FOR_KEY) is not latest
st.session_state[FOR_KEY] = latest
st.caption(f"The last run: {markdown_text(latest.config.model)} · {markdown_text(latest.config.input.describe())} · "
           f"{label} · {latest.steps} "
           f"steps · {'adversarial found' if latest.success else 'no adversarial found'} · d = {d}")

measured = st.session_state.get(SPEED_KEY, {}).get(_speed_key(latest))
per_forward = measured if measured is not None else guessed_seconds_per_forward(latest)
_init(f"{PREFIX}resolution", default_resolution(d, per_forward), RESOLUTIONS, reset=new_run)
_init(f"{PREFIX}extent", DEFAULT_EXTENT, reset=new_run)
_init(f"{PREFIX}direction", "gradient", tuple(DIRECTIONS))
left, middle, right = st.columns([3, 2, 2], gap="large")
resolution = left.segmented_control("Grid", RESOLUTIONS, key=f"{PREFIX}resolution", required=True,
                                    format_func=lambda n: f"{n} × {n}",
                                    help="Grid points per axis; each point is one forward pass of the model.")
extent = middle.slider("Extent (× ‖δ‖₂ on each side)", 0.25, 5.0, step=0.25, key=f"{PREFIX}extent",
                       help="Half the width of the slice along u and v, in multiples of ‖δ*‖₂.")
with right:
    direction = st.radio("Second direction v", tuple(DIRECTIONS), key=f"{PREFIX}direction", horizontal=True,
                         format_func=lambda v: DIRECTIONS[v].capitalize())
    seed = int(st.number_input("Seed", 0, 2 ** 31 - 1, 0, key=f"{PREFIX}seed")) if direction == "random" else 0

forwards, batches = cost(resolution, d)
how = ("measured on this model" if measured is not None
       else "a rough guess from the last run's speed, measured once a slice has run")
st.caption(f"{resolution} × {resolution} grid: {forwards} forward passes in {batches} batches on "
           f"{latest.config.device}, {estimate_seconds(forwards, per_forward)} ({how}).")

task = GeometryTask.for_run(latest, resolution, extent, direction, seed)
if task is None:
    st.info("This run found no adversarial and kept no iterates: there is no direction to slice along.",
            icon=":material/info:")
run = live.active_run(RUN_KEY)
live.run_button(RUN_KEY, "Compute the slice", f"{PREFIX}run_button", (lambda: live.start(
    RUN_KEY, task, latest.config.device, threads(latest), task.points, context=latest)) if task is not None else None)
if run is not None:
    live.follow(RUN_KEY, _draw_live, partial(_keep, run.context))
elif note := st.session_state.get(NOTE_KEY):
    st.info(note, icon=":material/stop_circle:")

stored: tuple[RunOutcome, Geometry] | None = st.session_state.get(RESULT_KEY)
if run is None and stored is not None and stored[0] is latest:
    _show(stored[1], label, d, scrubbed)
