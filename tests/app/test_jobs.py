"""The worker pool behind every page: jobs run in worker processes, controls act at once, places in line, fair CPU
shares, failures that end one job only, and no worker left behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator

import pytest
import torch

from alma.images import to_model_input
from alma.models import DEFAULT_MODEL, get_info
from alma.samples import list_samples, load_sample
from ui.config import AttackSettings, InputRef, RunConfig
from ui.jobs import Job, JobFailed, Phase, Pool, pool
from ui.outcome import ExplorerTask

from .conftest import REPO
from .tasks import Fails, TinyAttack

TIMEOUT = 60.0


def _until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _paused(job: Job) -> bool:
    return job.phase is Phase.PAUSED


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ended, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def one_worker() -> Iterator[Pool]:
    """A pool with a single CPU worker, so that jobs must wait in line."""
    small = Pool(cores=1, warm={"cpu": 1}, max_cpu_workers=1)
    yield small
    small.shutdown()


def test_pause_step_resume_and_step_requests_add_up() -> None:
    job = pool().submit(TinyAttack(100_000), "cpu", start_paused=True)
    _until(lambda: _paused(job), "the pause after the first step")
    assert job.snapshot().steps == 1
    for _ in range(5):  # five quick clicks of "Step 1" before the worker moves: five steps
        job.step(1)
    assert job.phase is Phase.RUNNING, "a page redrawn right after the click must not show it paused"
    _until(lambda: _paused(job), "the pause after five more steps")
    assert job.snapshot().steps == 6
    job.step(7)
    _until(lambda: _paused(job) and job.snapshot().steps > 6, "the pause after seven more steps")
    assert job.snapshot().steps == 13
    job.resume()
    _until(lambda: job.snapshot().steps > 100, "steps after resume")
    job.pause()
    _until(lambda: _paused(job), "the pause")
    paused_at = job.snapshot().steps
    time.sleep(0.2)
    assert job.snapshot().steps == paused_at and job.snapshot().steps_per_second == 0
    job.stop()
    snapshot = job.join(TIMEOUT)
    assert snapshot.phase is Phase.FINISHED and snapshot.result.stopped and snapshot.result.steps == paused_at
    assert snapshot.traces[""].num_steps == paused_at, "every trace row came back"


def test_stop_while_running_keeps_the_best_result() -> None:
    job = pool().submit(TinyAttack(1_000_000), "cpu")
    _until(lambda: job.snapshot().steps > 50, "a running attack")
    job.stop()
    snapshot = job.join(TIMEOUT)
    assert snapshot.phase is Phase.FINISHED and snapshot.result.stopped
    assert snapshot.result.steps == snapshot.steps < 1_000_000


def test_waiting_jobs_know_their_place_and_can_be_cancelled(one_worker: Pool) -> None:
    first = one_worker.submit(TinyAttack(100_000), "cpu", start_paused=True)
    _until(lambda: _paused(first), "the first job to hold the only worker")
    second, third = one_worker.submit(TinyAttack(5), "cpu"), one_worker.submit(TinyAttack(5), "cpu")
    assert (second.snapshot().place, third.snapshot().place) == (1, 2)
    assert second.phase is third.phase is Phase.WAITING and second.snapshot().steps == 0
    second.stop()
    _until(lambda: second.phase is Phase.CANCELLED, "the cancelled job")
    _until(lambda: third.snapshot().place == 1, "the third job to move up")
    first.stop()
    assert first.join(TIMEOUT).phase is Phase.FINISHED
    snapshot = third.join(TIMEOUT)
    assert snapshot.phase is Phase.FINISHED and snapshot.steps == 5


def test_a_failing_task_fails_its_job_only() -> None:
    snapshot = pool().submit(Fails(), "cpu").join(TIMEOUT)
    assert snapshot.phase is Phase.FAILED and isinstance(snapshot.error, JobFailed)
    assert "num_steps must be positive" in str(snapshot.error)
    assert pool().submit(TinyAttack(10), "cpu").join(TIMEOUT).phase is Phase.FINISHED


def test_a_killed_worker_fails_its_job_with_a_message_and_the_next_run_works(one_worker: Pool) -> None:
    job = one_worker.submit(TinyAttack(100_000), "cpu", start_paused=True)
    _until(lambda: _paused(job), "a paused job")
    os.kill(job.worker_pid, signal.SIGKILL)
    snapshot = job.join(TIMEOUT)
    assert snapshot.phase is Phase.FAILED
    assert "stopped unexpectedly (killed by signal 9" in str(snapshot.error)
    assert one_worker.submit(TinyAttack(10), "cpu").join(TIMEOUT).phase is Phase.FINISHED


@pytest.mark.slow
def test_two_jobs_on_the_cpu_give_exactly_their_results_alone() -> None:
    info = get_info(DEFAULT_MODEL)
    name = list_samples(info.dataset)[0]
    image = to_model_input(load_sample(name), info)[0]
    config = RunConfig(model=info.name, input=InputRef(sample=name), attack=AttackSettings(num_steps=200, seed=3),
                       device="cpu", cpu_threads=1)
    task = ExplorerTask(config, image)
    alone = pool().submit(task, "cpu").join(TIMEOUT).result
    together = [pool().submit(task, "cpu") for _ in range(2)]
    for job in together:
        result = job.join(TIMEOUT).result
        assert torch.equal(result.adversarial, alone.adversarial) and result.distance == alone.distance
        assert torch.equal(result.trace.distance, alone.trace.distance)


def test_cpu_shares_are_fair_when_jobs_outnumber_the_cores() -> None:
    """Three jobs on one core: the scheduler lets one run at a time, in turns; each gets about a third."""
    shared = Pool(cores=1, warm={"cpu": 3})
    try:
        _until(lambda: len(shared.workers("cpu")) == 3, "three workers")
        jobs = [shared.submit(TinyAttack(10_000_000), "cpu") for _ in range(3)]
        time.sleep(3.0)
        steps = [job.snapshot().steps for job in jobs]
        for job in jobs:
            job.stop()
        assert min(steps) > 0, f"a job starved: {steps}"
        assert max(steps) / min(steps) < 1.6, f"unfair shares: {steps}"
    finally:
        shared.shutdown()


SERVER = textwrap.dedent("""
    import sys, time
    from ui.jobs import pool
    from tests.app.tasks import TinyAttack
    if __name__ == "__main__":
        job = pool().submit(TinyAttack(10_000_000), "cpu")
        while job.snapshot().steps < 10:
            time.sleep(0.01)
        print(" ".join(map(str, pool().workers())), flush=True)
        if sys.argv[1] == "kill":
            time.sleep(60)
        sys.exit(0)
""")


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_no_worker_outlives_the_server(how: str) -> None:
    """A server that exits with an attack running ends its workers within 2 s; killed, the kernel ends them."""
    server = subprocess.Popen([sys.executable, "-c", SERVER, how], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        workers = [int(pid) for pid in server.stdout.readline().split()]
        assert workers, server.stderr.read()
        began = time.monotonic()
        if how == "kill":
            server.kill()
        server.wait(timeout=10)
        _until(lambda: not any(map(_alive, workers)), "the workers to end", timeout=5)
        assert time.monotonic() - began < 2.5
        assert "terminate called" not in server.stderr.read()
    finally:
        server.kill()
