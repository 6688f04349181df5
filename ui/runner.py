"""Background attack jobs that a page can follow, stop, pause and step; one lock per device across sessions.

A `Job` runs `work(job)` in a thread. `work` calls `alma.attack(..., on_step=job.callback(label), every=1)` (once, or
several times with different labels) and returns what the page shows. The callback stores the new trace rows and is
where control happens: it returns False once `stop()` was called, and it blocks while the job is paused, so
`pause()` takes effect after the current step, `step(k)` runs exactly k more steps and pauses again, and `resume()`
lets the attack continue. A job with a `lock_key` first takes that key's process-wide lock (e.g. "cuda:0"), so
attacks on one GPU never overlap, whatever browser session started them; until it has the lock the job is WAITING.
Nothing here knows about Streamlit.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from alma.attack import OnStep
from alma.trace import Trace, concat

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
RATE_WINDOW_S = 1.0


def device_lock(key: str) -> threading.Lock:
    """The process-wide lock of a device key (the same object for every caller)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


class Phase(Enum):
    WAITING = "waiting for the device"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled before it started"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """The job's thread is still alive (or about to be)."""
        return self in (Phase.WAITING, Phase.RUNNING, Phase.PAUSED)


@dataclass(frozen=True)
class Snapshot:
    """A consistent view of a job: the trace of each labelled attack so far, steps done, speed."""

    phase: Phase
    traces: dict[str, Trace]
    steps: int
    """Steps done, over all labels."""
    steps_per_second: float
    active_seconds: float
    """Time spent running (not waiting for the lock, not paused)."""
    result: Any = None
    error: BaseException | None = None


@dataclass
class _Parts:
    merged: Trace | None = None
    pending: list[Trace] = field(default_factory=list)

    def trace(self) -> Trace | None:
        if self.pending:
            self.merged = concat(([self.merged] if self.merged else []) + self.pending)
            self.pending.clear()
        return self.merged


class Job:
    """One background attack job; every method is thread-safe."""

    def __init__(self, work: Callable[[Job], Any], lock_key: str | None = None, start_paused: bool = False) -> None:
        self._work, self._lock_key = work, lock_key
        self._cond = threading.Condition()
        self._phase = Phase.WAITING
        self._stop = False
        self._pause_at: int | None = 0 if start_paused else None  # pause once this many steps are done
        self._parts: dict[str, _Parts] = {}
        self._steps = 0
        self._ticks: deque[tuple[float, int]] = deque()
        self._active = 0.0
        self._active_since: float | None = None
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="alma-attack", daemon=True)

    # --- control ---------------------------------------------------------------------------------------------------

    def start(self) -> Job:
        self._thread.start()
        return self

    def stop(self) -> None:
        """The attack ends after its current step, with the best result so far (a waiting job is cancelled)."""
        with self._cond:
            self._stop = True
            self._wake()

    def pause(self) -> None:
        with self._cond:
            self._pause_at = self._steps
            self._wake()

    def step(self, k: int) -> None:
        """Run exactly `k` more steps, then pause."""
        with self._cond:
            self._pause_at = self._steps + max(1, int(k))
            self._wake()

    def resume(self) -> None:
        with self._cond:
            self._pause_at = None
            self._wake()

    @property
    def stop_requested(self) -> bool:
        return self._stop

    @property
    def pause_requested(self) -> bool:
        """Paused, or about to pause (after the current step, or after the steps asked for by `step`)."""
        return self._pause_at is not None

    # --- views -----------------------------------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def active_seconds(self) -> float:
        """Time spent running so far (not waiting for the lock, not paused)."""
        with self._cond:
            return self._active_now()

    def snapshot(self) -> Snapshot:
        with self._cond:
            traces = {label: t for label, parts in self._parts.items() if (t := parts.trace()) is not None}
            return Snapshot(self._phase, traces, self._steps, self._rate(), self._active_now(), self._result,
                            self._error)

    def wait_for_change(self, timeout: float) -> None:
        """Blocks until the job finishes or pauses, or `timeout` seconds pass."""
        with self._cond:
            self._cond.wait_for(lambda: self._phase not in (Phase.WAITING, Phase.RUNNING), timeout)

    def join(self, timeout: float | None = None) -> Snapshot:
        self._thread.join(timeout)
        return self.snapshot()

    # --- for `work` ------------------------------------------------------------------------------------------------

    def callback(self, label: str = "") -> OnStep:
        """`on_step` for one `alma.attack` call of this job (use `every=1` for exact stepping)."""
        with self._cond:
            self._parts.setdefault(label, _Parts())

        def on_step(_: int, rows: Trace) -> bool:
            with self._cond:
                self._parts[label].pending.append(rows)
                self._steps += rows.num_steps
                self._tick()
                while self._holding():
                    if self._phase is not Phase.PAUSED:
                        self._set_phase(Phase.PAUSED)
                    self._cond.wait()
                return not self._stop

        return on_step

    # --- internals -------------------------------------------------------------------------------------------------

    def _main(self) -> None:
        lock = device_lock(self._lock_key) if self._lock_key else None
        if lock is not None and not self._acquire(lock):
            with self._cond:
                self._set_phase(Phase.CANCELLED)
            return
        try:
            with self._cond:
                self._set_phase(Phase.RUNNING)
            result, error = self._work(self), None
        except BaseException as err:  # any failure ends the job visibly; the page shows a message
            result, error = None, err
        finally:
            if lock is not None:
                lock.release()
        with self._cond:
            self._result, self._error = result, error
            self._set_phase(Phase.FAILED if error is not None else Phase.FINISHED)

    def _acquire(self, lock: threading.Lock) -> bool:
        while not lock.acquire(timeout=0.1):
            if self._stop:
                return False
        if self._stop:
            lock.release()
            return False
        return True

    def _holding(self) -> bool:
        """The attack is to wait (paused) before its next step."""
        return self._pause_at is not None and self._steps >= self._pause_at and not self._stop

    def _wake(self) -> None:
        """Called with the condition held after a control call. A paused job that may go on is RUNNING at once, so
        that a page following it right after the click does not take it for still paused."""
        if self._phase is Phase.PAUSED and not self._holding():
            self._ticks.clear()
            self._set_phase(Phase.RUNNING)
        self._cond.notify_all()

    def _set_phase(self, phase: Phase) -> None:
        """Called with the condition held: keeps the active-time clock and wakes followers."""
        now = time.perf_counter()
        if self._active_since is not None:
            self._active += now - self._active_since
        self._active_since = now if phase is Phase.RUNNING else None
        self._phase = phase
        self._cond.notify_all()

    def _active_now(self) -> float:
        extra = time.perf_counter() - self._active_since if self._active_since is not None else 0.0
        return self._active + extra

    def _tick(self) -> None:
        now = time.perf_counter()
        self._ticks.append((now, self._steps))
        while len(self._ticks) > 2 and now - self._ticks[0][0] > RATE_WINDOW_S:
            self._ticks.popleft()

    def _rate(self) -> float:
        if len(self._ticks) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._ticks[0], self._ticks[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
