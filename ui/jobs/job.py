"""A job as the page sees it: its phase, what it has produced so far, and the controls (stop, pause, step, resume).

The page holds a `Job` in its session state and reads `snapshot()` on each redraw; the pool's thread fills the job
with what its worker sends back. Every method is thread-safe and returns at once.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from alma.trace import Trace, concat

from .control import NO_PAUSE, Control

RATE_WINDOW_S = 1.0


class Phase(Enum):
    WAITING = "waiting"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled before it started"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Waiting, running or paused: the job has not ended."""
        return self in (Phase.WAITING, Phase.RUNNING, Phase.PAUSED)


class JobFailed(Exception):
    """A job's failure as its worker described it (the traceback is in the server's log)."""

    def __init__(self, message: str, out_of_memory: bool = False) -> None:
        super().__init__(message)
        self.out_of_memory = out_of_memory


@dataclass(frozen=True)
class Snapshot:
    """A consistent view of a job: the trace of each labelled attack so far, steps done, speed, place in line."""

    phase: Phase
    traces: dict[str, Trace]
    steps: int
    """Steps done, over all labels (those whose trace rows have arrived)."""
    steps_per_second: float
    """Over the last second (0 while paused or waiting)."""
    active_seconds: float
    """Time spent running (not waiting, not paused)."""
    place: int | None = None
    """1 for the next job to start on the device, 2 for the one after it, …; None once started."""
    device: str = "cpu"
    progress: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Work without trace rows: label → (done, total)."""
    published: dict[str, Any] = field(default_factory=dict)
    """Partial results the task published so far."""
    iterate: tuple[int, Any] | None = None
    """The latest snapshot of the iterate, (step, images [B, C, H, W]), when the attack keeps snapshots (the
    traces carry none: the result has them all)."""
    stopped: bool = False
    """The job was asked to stop."""
    result: Any = None
    error: BaseException | None = None


class Job:
    """One job of the pool (see `Pool.submit`)."""

    def __init__(self, device: str, threads: int, start_paused: bool = False) -> None:
        self.device, self.threads = device, threads
        self._cond = threading.Condition()
        self._phase = Phase.WAITING
        self._control: Control | None = None
        self._stop = False
        self._pause_at = 0 if start_paused else NO_PAUSE  # until a worker takes the job
        self._place: int | None = None
        self._parts: dict[str, list[Trace]] = {}
        self._steps = 0
        self._ticks: deque[tuple[float, int]] = deque()
        self._progress: dict[str, tuple[int, int]] = {}
        self._published: dict[str, Any] = {}
        self._iterate: tuple[int, Any] | None = None
        self._active = 0.0
        self._active_since: float | None = None
        self._result: Any = None
        self._error: BaseException | None = None
        self.worker_pid: int | None = None
        self.granted = 0.0
        """CPU seconds the scheduler has granted this job (for fair shares)."""

    # --- control ---------------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """The job ends after its current step with the best result so far; a waiting job is cancelled."""
        with self._cond:
            self._stop = True
            if self._control is not None:
                self._control.stop()
            self._cond.notify_all()

    def pause(self) -> None:
        """Hold after the current step."""
        with self._cond:
            if self._control is not None:
                self._control.pause()
            else:
                self._pause_at = 0

    def step(self, k: int) -> None:
        """Run exactly `k` more steps, then pause; requests add up."""
        with self._cond:
            if self._control is not None:
                self._control.step(max(1, int(k)))
                self._wake()
            else:
                self._pause_at = max(self._pause_at, 0) + max(1, int(k))

    def resume(self) -> None:
        with self._cond:
            if self._control is not None:
                self._control.resume()
                self._wake()
            else:
                self._pause_at = NO_PAUSE

    @property
    def stop_requested(self) -> bool:
        return self._stop

    @property
    def pause_requested(self) -> bool:
        """Paused, or about to pause (after the current step, or after the steps asked for by `step`)."""
        with self._cond:
            pause_at = self._control.pause_at if self._control is not None else self._pause_at
            return pause_at != NO_PAUSE

    # --- views -----------------------------------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    def snapshot(self) -> Snapshot:
        with self._cond:
            traces = {}
            for label, parts in self._parts.items():
                if len(parts) > 1:
                    parts[:] = [concat(parts)]
                if parts:
                    traces[label] = parts[0]
            return Snapshot(self._phase, traces, self._steps, self._rate(), self._active_now(), self._place,
                            self.device, dict(self._progress), dict(self._published), self._iterate, self._stop,
                            self._result, self._error)

    def wait_for_change(self, timeout: float) -> None:
        """Blocks until the job ends or pauses, or `timeout` seconds pass."""
        with self._cond:
            self._cond.wait_for(lambda: self._phase not in (Phase.WAITING, Phase.RUNNING), timeout)

    def join(self, timeout: float | None = None) -> Snapshot:
        """Blocks until the job has ended (or `timeout` seconds pass); its snapshot."""
        with self._cond:
            self._cond.wait_for(lambda: not self._phase.active, timeout)
        return self.snapshot()

    # --- for the pool ----------------------------------------------------------------------------------------------

    def assigned(self, control: Control, pid: int) -> int:
        """A worker takes the job: its control block gets the stop and pause asked for so far; returns pause_at."""
        with self._cond:
            control.reset(self._pause_at, self._stop)
            self._control, self.worker_pid, self._place = control, pid, None
            self._set_phase(Phase.RUNNING)
            self._ticks.append((time.perf_counter(), 0))
            return self._pause_at

    def queued(self, place: int) -> None:
        with self._cond:
            self._place = place

    def received(self, message: tuple) -> None:
        """A message from the job's worker (see `ui.jobs.worker`)."""
        kind = message[0]
        with self._cond:
            if kind == "rows":
                _, label, rows = message
                if rows.snapshots is not None and len(rows.snapshots):
                    self._iterate = (int(rows.snapshots.steps[-1]), rows.snapshots.images[-1])
                    rows = replace(rows, snapshots=None)  # merged on every redraw: keep it light
                self._parts.setdefault(label, []).append(rows)
                self._steps += rows.num_steps
                self._ticks.append((time.perf_counter(), self._steps))
            elif kind == "paused":
                if self._control is not None and self._control.paused_at(message[1]):
                    self._set_phase(Phase.PAUSED)
            elif kind == "progress":
                _, label, done, total = message
                self._progress[label] = (done, total)
            elif kind == "publish":
                self._published[message[1]] = message[2]
            elif kind == "done":
                self._result = message[1]
                self._set_phase(Phase.FINISHED)
            elif kind == "stopped":
                self._set_phase(Phase.FINISHED)
            elif kind == "failed":
                self._error = JobFailed(message[1], message[2])
                self._set_phase(Phase.FAILED)

    def fail(self, message: str) -> None:
        with self._cond:
            if self._phase.active:
                self._error = JobFailed(message)
                self._set_phase(Phase.FAILED)

    def cancel(self) -> None:
        with self._cond:
            self._set_phase(Phase.CANCELLED)

    @property
    def allowed(self) -> bool:
        """The scheduler lets it run now."""
        return self._control is not None and self._control.allowed

    def allow(self, may_run: bool) -> None:
        if self._control is not None:
            self._control.allow(may_run)

    @property
    def runnable(self) -> bool:
        """Running on a worker and not held for a pause: it competes for the device."""
        with self._cond:
            return self._phase is Phase.RUNNING and self._control is not None

    # --- internals -------------------------------------------------------------------------------------------------

    def _wake(self) -> None:
        """With the condition held, after a control call: a paused job that may go on is RUNNING at once, so that a
        page redrawn right after the click does not show it as still paused."""
        if self._phase is Phase.PAUSED and not self._control.paused_at(self._control.steps):
            self._ticks.clear()
            self._ticks.append((time.perf_counter(), self._steps))
            self._set_phase(Phase.RUNNING)

    def _set_phase(self, phase: Phase) -> None:
        now = time.perf_counter()
        if self._active_since is not None:
            self._active += now - self._active_since
        self._active_since = now if phase is Phase.RUNNING else None
        self._phase = phase
        self._cond.notify_all()

    def _active_now(self) -> float:
        return self._active + (time.perf_counter() - self._active_since if self._active_since is not None else 0.0)

    def _rate(self) -> float:
        """Steps per second over the last `RATE_WINDOW_S` (0 when nothing arrived in it)."""
        now = time.perf_counter()
        while len(self._ticks) > 2 and now - self._ticks[1][0] > RATE_WINDOW_S:  # keep one tick before the window
            self._ticks.popleft()
        if self._phase is not Phase.RUNNING or len(self._ticks) < 2 or now - self._ticks[-1][0] > RATE_WINDOW_S:
            return 0.0
        (t0, s0), (t1, s1) = self._ticks[0], self._ticks[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
