"""The background job behind every page: controls act at once, and one device lock serialises jobs across sessions."""
from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

import alma
from alma.attack import AttackResult
from ui.runner import Job, Phase

MODEL = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval().requires_grad_(False)
X, Y = torch.full((1, 1, 2, 2), 0.5), torch.tensor([0])


def _attack(steps: int) -> Callable[[Job], AttackResult]:
    return lambda job: alma.attack(MODEL, X, Y, num_steps=steps, on_step=job.callback(), every=1)


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_controls_show_in_the_phase_at_once() -> None:
    """A page that follows the job right after a click must not take it for still paused."""
    job = Job(_attack(10_000), start_paused=True).start()
    _until(lambda: job.phase is Phase.PAUSED)
    job.step(5)
    assert job.phase is Phase.RUNNING
    _until(lambda: job.phase is Phase.PAUSED)
    assert job.snapshot().steps == 6
    job.stop()
    assert job.phase is Phase.RUNNING
    snapshot = job.join(timeout=10)
    assert snapshot.phase is Phase.FINISHED and snapshot.result.stopped and snapshot.result.steps < 10_000


def test_jobs_on_one_device_wait_for_each_other() -> None:
    first = Job(_attack(10_000), lock_key="test:0", start_paused=True).start()
    _until(lambda: first.phase is Phase.PAUSED)
    waiting, cancelled = (Job(_attack(5), lock_key="test:0").start() for _ in range(2))
    time.sleep(0.3)
    assert waiting.phase is cancelled.phase is Phase.WAITING and waiting.snapshot().steps == 0
    cancelled.stop()
    assert cancelled.join(timeout=10).phase is Phase.CANCELLED
    first.stop()
    assert first.join(timeout=10).phase is Phase.FINISHED
    snapshot = waiting.join(timeout=10)
    assert snapshot.phase is Phase.FINISHED and snapshot.steps == 5
