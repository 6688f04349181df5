"""The page side of a job: start it, follow it while it runs, and the Stop / Pause / Step / Resume controls.

The job runs in a worker process (see `ui.jobs`) and lives in the session state, so it survives reruns. While it is
active, `follow` redraws it in a fragment that Streamlit reruns every `POLL_S` seconds; `draw` uses fixed element
keys, so the browser updates the same elements in place. A control click reruns the whole page, its callback acting
on the job first. Once the job has ended, the fragment hands its result to the page and reruns the whole page.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from .errors import user_message
from .jobs import Job, JobFailed, Phase, Snapshot, Task, pool
from .model_upload.session import with_session_models
from .text import readable

POLL_S = 0.25
"""Seconds between two redraws of a running job (the server sends only the new state: cheap)."""


@dataclass(frozen=True)
class ActiveRun:
    """A page's job and what the page needs to draw it."""

    job: Job
    steps_per_attack: int
    total_steps: int
    context: Any = None
    """Whatever the page wants back with the result (e.g. the run's config)."""


def active_run(key: str) -> ActiveRun | None:
    return st.session_state.get(key)


def start(key: str, task: Task, device: str, threads: int, steps_per_attack: int, total_steps: int | None = None,
          context: Any = None) -> bool:
    """Submits `task` as this page's job unless one is still active (a rerun never starts a second one)."""
    current = active_run(key)
    if current is not None and current.job.phase.active:
        return False
    st.session_state.pop(_error_key(key), None)
    job = pool().submit(with_session_models(task), device, threads)
    st.session_state[key] = ActiveRun(job, steps_per_attack, total_steps or steps_per_attack, context)
    return True


def controls(key: str, stepping: bool = True) -> None:
    """Stop, Pause / Resume, and Step K; they act through callbacks, so the page redraws in the new state."""
    run = active_run(key)
    job = run.job if run is not None and run.job.phase.active else None
    if not stepping:
        st.button("Stop", key=f"{key}_stop", icon=":material/stop:", disabled=job is None,
                  on_click=job.stop if job else None)
        return
    paused = job is not None and job.pause_requested
    stop_col, pause_col, k_col, step_col = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    stop_col.button("Stop", key=f"{key}_stop", icon=":material/stop:", disabled=job is None,
                    on_click=job.stop if job else None, width="stretch")
    # Pause and Resume share a key, so the browser swaps the button in place (a new key would leave the old button
    # there, greyed out, until the script run ends: the row would jump under the user's pointer).
    if paused:
        pause_col.button("Resume", key=f"{key}_pause", icon=":material/play_arrow:", on_click=job.resume,
                         width="stretch")
    else:
        pause_col.button("Pause", key=f"{key}_pause", icon=":material/pause:", disabled=job is None,
                         on_click=job.pause if job else None, width="stretch")
    k_key = f"{key}_k"
    k_col.number_input("Steps per click", min_value=1, max_value=10_000, value=10, key=k_key,
                       help="How many steps one click on Step runs before pausing again; clicks add up.")
    step_col.button("Step", key=f"{key}_step", icon=":material/skip_next:", disabled=not paused,
                    on_click=(lambda: job.step(st.session_state[k_key])) if paused else None, width="stretch",
                    help="Advance exactly this many steps, then pause again (pause first).")


def run_button(key: str, label: str, button_key: str, start: Callable[[], bool] | None) -> None:
    """The row of a job without steps: its Run button (`start` submits the job, None: not ready), Stop, and the
    message of its last failure."""
    run = active_run(key)
    busy = run is not None and run.job.phase.active
    run_col, stop_col = st.columns([1, 4], vertical_alignment="bottom")
    if run_col.button(label, type="primary", icon=":material/play_circle:", key=button_key,
                      disabled=start is None or busy, width="stretch") and start is not None and not busy and start():
        st.rerun()
    with stop_col:
        controls(key, stepping=False)
    if error := last_error(key):
        st.error(error[0], icon=":material/error:")


@st.fragment(run_every=POLL_S)
def follow(key: str, draw: Callable[[ActiveRun, Snapshot], None], done: Callable[[Any], None]) -> None:
    """Draws this page's job with `draw` every `POLL_S` seconds until it ends (paused, it stays drawn as paused);
    then gives `done` its result (see `finish`) and reruns the whole page. `draw` must use fixed element keys."""
    run = active_run(key)
    if run is None:  # a rerun of the fragment after the job was taken: the page must redraw without it
        st.rerun()
    snapshot = run.job.snapshot()
    if not snapshot.phase.active:
        done(finish(key, snapshot))
        st.rerun()
    draw(run, snapshot)


def status(run: ActiveRun, snapshot: Snapshot, detail: str = "") -> None:
    """Progress line: state, steps done, steps/s over the last second, ETA (or the job's place in line)."""
    st.progress(min(snapshot.steps / max(run.total_steps, 1), 1.0), text=progress_text(run, snapshot, detail))


def progress_text(run: ActiveRun, snapshot: Snapshot, detail: str = "") -> str:
    """The progress line's words. The speed is shown only while it is measured on steps being run: "measuring
    speed" before the first second's steps, none while paused (the time run so far instead of an ETA)."""
    if snapshot.phase is Phase.WAITING:
        where = "the GPU" if snapshot.device.startswith("cuda") else "a CPU worker"
        place = f"{_ordinal(snapshot.place)} in line for {snapshot.device}" if snapshot.place else "starting"
        return f"waiting · {place} · starts as soon as {where} is free (Stop cancels it)"
    state = {Phase.PAUSED: "paused", Phase.RUNNING: "running"}.get(snapshot.phase, snapshot.phase.value)
    if snapshot.stopped and snapshot.phase.active:
        state = "stopping"
    parts = [state, f"step {snapshot.steps} / {run.total_steps}"]
    rate = snapshot.steps_per_second
    if snapshot.phase is Phase.RUNNING and not snapshot.stopped:
        if rate > 0 and snapshot.steps > 0:
            parts += [f"{readable(rate)} steps/s", f"ETA {(run.total_steps - snapshot.steps) / rate:.1f} s"]
        else:
            parts.append("measuring speed…")
    else:
        parts.append(f"{snapshot.active_seconds:.1f} s run")
    return " · ".join(parts + ([detail] if detail else []))


def finish(key: str, snapshot: Snapshot) -> Any:
    """Forgets a job that has ended; returns its result, or None after a failure (kept as this page's error)."""
    run = st.session_state.pop(key, None)
    if snapshot.phase is Phase.FAILED and snapshot.error is not None:
        error = snapshot.error
        oom = error.out_of_memory if isinstance(error, JobFailed) else False
        message = str(error) if isinstance(error, JobFailed) else user_message(error)
        st.session_state[_error_key(key)] = (message, oom)
    return snapshot.result if run is not None else None


def last_error(key: str) -> tuple[str, bool] | None:
    """The message of this page's last failed job and whether it ran out of memory; None after a success."""
    return st.session_state.get(_error_key(key))


def _error_key(key: str) -> str:
    return f"{key}_error"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
