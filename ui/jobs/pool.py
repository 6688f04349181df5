"""The worker pool: attacks run in worker processes, one queue per device, fair shares of the CPU.

`pool()` is the process-wide pool every page and session shares. `Pool.submit(task, device, threads)` queues a job
and returns its `Job` at once. A GPU runs one job at a time (its own worker; the others wait in line and know their
place). On the CPU every job gets a worker of its own (up to `max_cpu_workers`; beyond that they wait in line), and
the scheduler lets jobs run together as long as their threads fit the cores; when they do not, it hands the cores in
turns of `QUANTUM_S` to the jobs that have had the least CPU time, so N jobs each get about 1/N of the throughput.
Workers start with the pool (`warm` per device) and one idle worker per device is kept ready, so that a run starts
at once; a worker that dies fails only its job and is replaced; the pool ends its workers when the server exits.
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

import torch

from . import codec, worker
from .control import Control
from .job import Job

QUANTUM_S = 0.25
"""Length of a CPU turn when more jobs want the CPU than it has cores."""
SHUTDOWN_S = 1.5
"""How long workers get to end by themselves when the server exits, before they are killed."""

Task = Callable[[worker.WorkerContext], Any]


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    control: Control
    device: str
    pid: int | None = None
    """Set once the worker has started and said it is ready."""
    job: Job | None = None
    since: float = field(default_factory=time.perf_counter)


class Pool:
    """Worker processes by device, their queues and the scheduler (one background thread)."""

    def __init__(self, cores: int | None = None, warm: dict[str, int] | None = None,
                 max_cpu_workers: int | None = None) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.max_cpu_workers = max_cpu_workers or int(os.environ.get("ALMA_CPU_WORKERS", max(4, 2 * self.cores)))
        self._warm = warm if warm is not None else {"cpu": min(2, self.cores),
                                                    **{f"cuda:{i}": 1 for i in range(torch.cuda.device_count())}}
        self._context = mp.get_context("spawn")
        self._lock = threading.RLock()
        self._workers: list[_Worker] = []
        self._queues: dict[str, deque[tuple[Job, Task]]] = {}
        self._closed = False
        self._wakeup_r, self._wakeup_w = self._context.Pipe(duplex=False)
        with self._lock:
            for device, count in self._warm.items():
                for _ in range(count):
                    self._spawn(device)
        self._thread = threading.Thread(target=self._loop, name="alma-pool", daemon=True)
        self._thread.start()

    # --- for pages -------------------------------------------------------------------------------------------------

    def submit(self, task: Task, device: str = "cpu", threads: int = 1, start_paused: bool = False) -> Job:
        """Queues `task` on `device` (a worker calls `task(context)`); `threads`: its CPU threads."""
        if self._closed:
            raise RuntimeError("the worker pool has shut down")
        job = Job(device, max(1, int(threads)), start_paused)
        with self._lock:
            self._queues.setdefault(device, deque()).append((job, task))
            self._schedule()
        return job

    def workers(self, device: str | None = None) -> list[int]:
        """The process ids of the workers ready for jobs (of one device)."""
        with self._lock:
            return [w.pid for w in self._workers if w.pid is not None and (device is None or w.device == device)]

    def shutdown(self) -> None:
        """Stops every job and ends every worker (killed after `SHUTDOWN_S`)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
            for queue in self._queues.values():
                for job, _ in queue:
                    job.cancel()
                queue.clear()
        for w in workers:
            w.control.stop()
            if w.pid is None or w.job is not None:  # starting, or busy with a job nobody will read: end it now
                w.process.terminate()
                continue
            try:
                w.conn.send_bytes(codec.dumps(("exit",)))
            except OSError:
                pass
        deadline = time.monotonic() + SHUTDOWN_S
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
        for w in workers:
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1.0)
            if w.job is not None:
                w.job.fail("The server is shutting down.")
        self._wake()

    # --- internals: workers ----------------------------------------------------------------------------------------

    def _spawn(self, device: str) -> _Worker:
        conn, child = self._context.Pipe()
        control = Control(self._context)
        process = self._context.Process(target=worker.main, args=(child, control, device, os.getpid()),
                                        name=f"alma-worker-{device}", daemon=True)
        with _empty_main():
            process.start()
        child.close()
        w = _Worker(process, conn, control, device)
        self._workers.append(w)
        return w

    def _lost(self, w: _Worker) -> None:
        """A worker process ended by itself: it fails its job; a new one replaces it."""
        self._workers.remove(w)
        w.conn.close()
        w.process.join(1.0)
        code = w.process.exitcode
        if w.job is not None:
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            memory = " (perhaps it ran out of memory)" if code == -9 else ""
            w.job.fail(f"The process running this attack stopped unexpectedly ({how}{memory}). Run it again: a new "
                       "worker is ready.")

    def _received(self, w: _Worker, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            w.pid = message[1]
            return
        job = w.job
        if job is None:
            return
        job.received(message)
        if kind in ("done", "stopped", "failed"):
            w.job = None

    # --- internals: scheduling -------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """With the lock held: start what can start, say their places to the others, share the CPU, keep workers
        warm."""
        if self._closed:
            return
        for device, queue in self._queues.items():
            for entry in [e for e in queue if e[0].stop_requested]:
                queue.remove(entry)
                entry[0].cancel()
            while queue and (w := self._idle(device)) is not None:
                job, task = queue.popleft()
                w.job = job
                job.assigned(w.control, w.pid)
                w.conn.send_bytes(codec.dumps(("run", task, job.threads)))
            for place, (job, _) in enumerate(queue, start=1):
                job.queued(place)
            self._start_workers(device, len(queue))
        self._share_cpu()
        self._keep_warm()

    def _idle(self, device: str) -> _Worker | None:
        """A ready worker of `device` without a job."""
        return next((w for w in self._workers if w.device == device and w.job is None and w.pid is not None), None)

    def _start_workers(self, device: str, waiting: int) -> None:
        """Starts workers for the jobs waiting on `device`: one per job on the CPU (up to the limit), one per GPU."""
        mine = [w for w in self._workers if w.device == device]
        starting = sum(w.pid is None for w in mine)
        room = self.max_cpu_workers - len(mine) if device == "cpu" else 1 - len(mine)
        for _ in range(min(waiting - starting, room)):
            self._spawn(device)

    def _keep_warm(self) -> None:
        """One idle worker (ready or starting) per device, within the limits: the next run starts at once, and no
        worker starts beside a running job when one is already waiting (starting one costs seconds of CPU)."""
        for device, count in self._warm.items():
            mine = [w for w in self._workers if w.device == device]
            limit = self.max_cpu_workers if device == "cpu" else count
            if count and not any(w.job is None for w in mine) and len(mine) < limit:
                self._spawn(device)

    def _share_cpu(self, elapsed: float = 0.0) -> None:
        """Lets the CPU jobs that have had the least time run, as many as their threads fit the cores."""
        jobs = [w.job for w in self._workers if w.device == "cpu" and w.job is not None and w.job.runnable]
        for job in jobs:
            if job.allowed:
                job.granted += elapsed * job.threads
        threads = 0
        for job in sorted(jobs, key=lambda j: j.granted):
            allowed = threads == 0 or threads + job.threads <= self.cores
            threads += job.threads if allowed else 0
            job.allow(allowed)

    def _loop(self) -> None:
        last = time.perf_counter()
        while not self._closed:
            with self._lock:
                ends = {w.conn: w for w in self._workers} | {w.process.sentinel: w for w in self._workers}
            ready = wait([*ends, self._wakeup_r], timeout=QUANTUM_S)
            with self._lock:
                for end in ready:
                    if end is self._wakeup_r:
                        self._wakeup_r.recv_bytes()
                        continue
                    w = ends[end]
                    if w not in self._workers:
                        continue
                    if end is w.conn:
                        self._drain(w)
                    else:
                        self._drain(w)
                        if w in self._workers:
                            self._lost(w)
                now = time.perf_counter()
                self._share_cpu(now - last)
                last = now
                self._schedule()

    def _drain(self, w: _Worker) -> None:
        try:
            while w.conn.poll():
                self._received(w, codec.loads(w.conn.recv_bytes()))
        except (EOFError, OSError):
            if w.process.is_alive():
                w.process.kill()
            w.process.join(1.0)
            if w in self._workers:
                self._lost(w)

    def _wake(self) -> None:
        try:
            self._wakeup_w.send_bytes(b"")
        except OSError:
            pass


@contextmanager
def _empty_main() -> Iterator[None]:
    """A spawned process first runs the parent's main module again, and Streamlit runs each page script as
    `__main__`: a worker would run the app. While a worker starts, the main module is an empty one."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


_POOL: Pool | None = None
_POOL_GUARD = threading.Lock()


def pool() -> Pool:
    """The process-wide pool (started on first use, shut down when the process exits)."""
    global _POOL
    with _POOL_GUARD:
        if _POOL is None or _POOL._closed:
            _POOL = Pool()
            atexit.register(_POOL.shutdown)
        return _POOL
