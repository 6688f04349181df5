"""The control block one worker process shares with the server: stop, pause position, run permission, steps done.

Shared memory (four integers under one lock), so a click acts at the worker's next step without a message and the
worker checks it in microseconds. The server writes stop / pause / step / resume and the scheduler's permission; the
worker adds the steps it has done and holds between two steps while it is paused or not allowed to run.
"""
from __future__ import annotations

from multiprocessing.context import BaseContext

_STOP, _PAUSE_AT, _MAY_RUN, _STEPS = range(4)
NO_PAUSE = -1


class Control:
    """One worker's control block; `reset` prepares it for the next job."""

    def __init__(self, context: BaseContext) -> None:
        self._values = context.Array("q", 4)  # with its own lock

    def reset(self, pause_at: int = NO_PAUSE, stop: bool = False) -> None:
        with self._values.get_lock():
            self._values[:] = [int(stop), pause_at, 1, 0]

    # --- the server's side -----------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._values[_STOP] = 1

    def pause(self) -> None:
        """Hold after the step in progress."""
        with self._values.get_lock():
            self._values[_PAUSE_AT] = self._values[_STEPS]

    def step(self, k: int) -> None:
        """k more steps from where the job holds or will hold: requests add up."""
        with self._values.get_lock():
            self._values[_PAUSE_AT] = max(self._values[_PAUSE_AT], self._values[_STEPS]) + k

    def resume(self) -> None:
        self._values[_PAUSE_AT] = NO_PAUSE

    def allow(self, may_run: bool) -> None:
        """The scheduler's permission to run (a job without it holds between two steps)."""
        self._values[_MAY_RUN] = int(may_run)

    @property
    def allowed(self) -> bool:
        return bool(self._values[_MAY_RUN])

    @property
    def pause_at(self) -> int:
        return self._values[_PAUSE_AT]

    # --- both sides ------------------------------------------------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        return bool(self._values[_STOP])

    @property
    def steps(self) -> int:
        return self._values[_STEPS]

    def paused_at(self, steps: int) -> bool:
        """A job that has done `steps` steps is to hold for a pause (not for a stop)."""
        pause_at = self._values[_PAUSE_AT]
        return pause_at != NO_PAUSE and steps >= pause_at and not self._values[_STOP]

    # --- the worker's side -----------------------------------------------------------------------------------------

    def advance(self, steps: int) -> int:
        with self._values.get_lock():
            self._values[_STEPS] += steps
            return self._values[_STEPS]
