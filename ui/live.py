"""The live side of a page's attack job: start it, follow it while it runs, and the Stop / Pause / Step / Resume
controls. The job survives reruns (it lives in the session state): each run of the page script picks up following.

While a job is active, `follow` draws it in a fragment that Streamlit reruns every `POLL_S` seconds: each rerun
draws the job's latest snapshot with the same element keys, so the browser updates the charts in place (no blank
chart between two redraws). A control click reruns the whole page at once, its callback acts on the job first. Once
the job has ended, the fragment hands its result to the page and reruns the whole page, which then shows the result.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from .errors import is_out_of_memory, user_message
from .runner import Job, Phase, Snapshot

POLL_S = 1.0
"""Seconds between two redraws of a running job. Each redraw sends every chart's data again: at 0.5 s, on two busy
cores, the redraws left the attack a quarter of its speed (60 instead of about 250 steps/s); a click still acts at
once, as it reruns the whole page."""


@dataclass(frozen=True)
class ActiveRun:
    """A page's running job and what the page needs to draw it."""

    job: Job
    steps_per_attack: int
    total_steps: int
    context: Any = None
    """Whatever the page wants back with the result (e.g. the run's config)."""


def active_run(key: str) -> ActiveRun | None:
    return st.session_state.get(key)


def start(key: str, work: Callable[[Job], Any], lock_key: str | None, steps_per_attack: int,
          total_steps: int | None = None, context: Any = None) -> bool:
    """Starts `work` as this page's job unless one is still running (a rerun never starts a second one)."""
    current = active_run(key)
    if current is not None and current.job.phase.active:
        return False
    st.session_state.pop(_error_key(key), None)
    job = Job(work, lock_key=lock_key).start()
    st.session_state[key] = ActiveRun(job, steps_per_attack, total_steps or steps_per_attack, context)
    return True


def controls(key: str) -> None:
    """Stop, Pause / Resume, and Step K; they act through callbacks, so the page redraws in the new state."""
    run = active_run(key)
    job = run.job if run is not None and run.job.phase.active else None
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
                       help="How many steps one click on Step runs before pausing again.")
    step_col.button("Step", key=f"{key}_step", icon=":material/skip_next:", disabled=not paused,
                    on_click=(lambda: job.step(st.session_state[k_key])) if paused else None, width="stretch",
                    help="Advance exactly this many steps, then pause again (pause first).")


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
    """Progress bar with steps, speed and state."""
    if snapshot.phase is Phase.WAITING:
        st.info("Waiting for the GPU: another session's attack is running on it. Yours starts as soon as it "
                "finishes (Stop cancels it).", icon=":material/hourglass_top:")
        return
    done = min(snapshot.steps / max(run.total_steps, 1), 1.0)
    state = {Phase.PAUSED: "paused", Phase.RUNNING: "running"}.get(snapshot.phase, snapshot.phase.value)
    if run.job.stop_requested and snapshot.phase.active:
        state = "stopping"
    text = (f"{state} · step {snapshot.steps} / {run.total_steps} · {snapshot.steps_per_second:.0f} steps/s · "
            f"{snapshot.active_seconds:.1f} s" + (f" · {detail}" if detail else ""))
    st.progress(done, text=text)


def finish(key: str, snapshot: Snapshot) -> Any:
    """Forgets a job that has ended; returns its result, or None after a failure (kept as this page's error)."""
    run = st.session_state.pop(key, None)
    if snapshot.phase is Phase.FAILED and snapshot.error is not None:
        st.session_state[_error_key(key)] = (user_message(snapshot.error), is_out_of_memory(snapshot.error))
    return snapshot.result if run is not None else None


def last_error(key: str) -> tuple[str, bool] | None:
    """The message of this page's last failed job and whether it ran out of memory; None after a success."""
    return st.session_state.get(_error_key(key))


def _error_key(key: str) -> str:
    return f"{key}_error"
