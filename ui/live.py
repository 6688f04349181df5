"""The live side of a page's attack job: start it, follow it while it runs, and the Stop / Pause / Step / Resume
controls. The job survives reruns (it lives in the session state): each run of the page script picks up following.

While a job runs, the page script polls it and redraws in placeholders every `POLL_S` seconds, so a click reruns
the script at once (Streamlit interrupts it at its next element), the control callback acts on the job, and
following starts again. When the job finishes, `follow` returns its final snapshot; the script also returns when the
job pauses, and a Resume or Step click starts it again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from .errors import is_out_of_memory, user_message
from .runner import Job, Phase, Snapshot

POLL_S = 0.4


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


def follow(run: ActiveRun, draw: Callable[[Snapshot], None]) -> Snapshot:
    """Redraws with `draw` until the job finishes or pauses; returns the last snapshot."""
    drawn_steps, drawn_phase = -1, None
    while True:
        snapshot = run.job.snapshot()
        if (snapshot.steps, snapshot.phase) != (drawn_steps, drawn_phase):
            draw(snapshot)
            drawn_steps, drawn_phase = snapshot.steps, snapshot.phase
        if not snapshot.phase.active or snapshot.phase is Phase.PAUSED:
            return snapshot
        run.job.wait_for_change(POLL_S)


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
