"""A worker process: runs one job at a time and streams what it produces back to the server.

A job is a picklable callable `task(context)`. Through the `WorkerContext` it gets models (loaded once per worker and
kept), an `on_step` callback per labelled attack (new trace rows go back in batches of at most `FLUSH_S`; between two
steps it holds while the job is paused, or while the scheduler gives its CPU share to another job), and `progress` /
`publish` for work that is not an ALMA loop. The worker dies with the server.
"""
from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import torch
from torch import nn

from alma.attack import OnStep
from alma.trace import Trace, concat

from . import codec
from .control import Control

FLUSH_S = 0.03
"""Longest time new trace rows wait in the worker before they are sent."""
HOLD_POLL_S = 0.002
MODELS_KEPT = 4


class Stopped(Exception):
    """Raised by `WorkerContext.check` once the job is asked to stop (for work that has no `on_step`)."""


class WorkerContext:
    """What a task sees of its worker: models, the stop / pause control, and the channel back to its job."""

    def __init__(self, conn: Connection, control: Control, models: _Models, device: str) -> None:
        self.device = device
        self._conn, self._control, self._models = conn, control, models
        self._pending: dict[str, list[Trace]] = {}
        self._last_flush = time.perf_counter()
        self._held = 0.0
        self._started = time.perf_counter()
        self._progress_sent = 0.0

    # --- for tasks -------------------------------------------------------------------------------------------------

    def model(self, name: str, device: str) -> nn.Module:
        return self._models.get(name, device)

    @property
    def stop_requested(self) -> bool:
        return self._control.stop_requested

    @property
    def active_seconds(self) -> float:
        """Seconds this job has run so far, not counting the time it was held."""
        return time.perf_counter() - self._started - self._held

    def callback(self, label: str = "") -> OnStep:
        """`on_step` for one `alma.attack` of this job; use `every=1`, so that pause and step are exact."""
        self._pending.setdefault(label, [])

        def on_step(_: int, rows: Trace) -> bool:
            self._pending[label].append(rows)
            steps = self._control.advance(rows.num_steps)
            if time.perf_counter() - self._last_flush >= FLUSH_S:
                self.flush()
            self._hold(steps)
            return not self._control.stop_requested

        return on_step

    def progress(self, label: str, done: int, total: int) -> None:
        """Progress of work without trace rows (e.g. a baseline attack; total 0: unknown): sent at most every
        `FLUSH_S`, and always when it is complete."""
        now = time.perf_counter()
        if now - self._progress_sent >= FLUSH_S or 0 < total <= done:
            self._progress_sent = now
            self._send(("progress", label, done, total))

    def publish(self, key: str, value: Any) -> None:
        """A partial result the page may show before the job ends (e.g. one finished attack of several)."""
        self._send(("publish", key, value))

    def check(self) -> None:
        """For work without `on_step`: raises `Stopped` once a stop is asked for."""
        if self._control.stop_requested:
            raise Stopped

    # --- for the worker --------------------------------------------------------------------------------------------

    def flush(self) -> None:
        for label, parts in self._pending.items():
            if parts:
                self._send(("rows", label, concat(parts)))
                parts.clear()
        self._last_flush = time.perf_counter()

    def _hold(self, steps: int) -> None:
        control = self._control
        if not (control.paused_at(steps) or not control.allowed) or control.stop_requested:
            return
        self.flush()
        since = time.perf_counter()
        announced = False
        while not control.stop_requested and (control.paused_at(steps) or not control.allowed):
            if control.paused_at(steps) and not announced:
                self._send(("paused", steps))
                announced = True
            time.sleep(HOLD_POLL_S)
        self._held += time.perf_counter() - since

    def _send(self, message: tuple) -> None:
        self._conn.send_bytes(codec.dumps(message))


class _Models:
    """Models loaded in this worker, the least recently used dropped beyond `MODELS_KEPT`."""

    def __init__(self) -> None:
        self._models: OrderedDict[tuple[str, str], nn.Module] = OrderedDict()

    def get(self, name: str, device: str) -> nn.Module:
        from alma.models import load_model

        key = (name, device)
        if key not in self._models:
            self._models[key] = load_model(name, device)
            while len(self._models) > MODELS_KEPT:
                self._models.popitem(last=False)
        self._models.move_to_end(key)
        return self._models[key]


def main(conn: Connection, control: Control, device: str, parent: int) -> None:
    """The worker's loop: ("run", task, threads) → ("done", result, seconds) or ("failed", message, oom)."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the server's terminal: the server ends the workers
    models = _Models()
    conn.send_bytes(codec.dumps(("ready", os.getpid())))
    while True:
        try:
            message = codec.loads(conn.recv_bytes())
        except (EOFError, OSError):
            break
        if message[0] == "exit":
            break
        _, task, threads = message
        _run(conn, control, models, device, task, threads)
    conn.close()
    os._exit(0)  # skip interpreter teardown: nothing is left to clean up, and native thread pools may still be up


def _run(conn: Connection, control: Control, models: _Models, device: str, task: Callable[[WorkerContext], Any],
         threads: int) -> None:
    if device == "cpu":
        torch.set_num_threads(max(1, threads))
    context = WorkerContext(conn, control, models, device)
    try:
        result = task(context)
        context.flush()
        reply: tuple = ("done", result, context.active_seconds)
    except BaseException as err:  # any failure ends the job (not the worker) with a message the page can show
        context.flush()
        reply = _failure(err)
    finally:
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    try:
        conn.send_bytes(codec.dumps(reply))
    except Exception as err:  # e.g. a result that cannot be pickled
        conn.send_bytes(codec.dumps(_failure(err)))


def _failure(err: BaseException) -> tuple:
    from ui.errors import is_out_of_memory, user_message

    if isinstance(err, Stopped):
        return ("stopped",)
    traceback.print_exception(err, file=sys.stderr)
    return ("failed", user_message(err), is_out_of_memory(err))


def _die_with_parent(parent: int) -> None:
    """On Linux, the kernel ends this process when the server dies, however it dies (no orphan workers)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the server died before the line above
        os._exit(0)
