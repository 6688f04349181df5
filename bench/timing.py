"""What the benchmarks share: wall times that wait for the GPU, best-of-rounds timing, operator counts, and the machine
they ran on."""
from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch


def wall(fn: Callable[[], object], device: torch.device) -> float:
    """Wall time of one run, in seconds (queued GPU work included)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def best_times(runs: dict[str, Callable[[], object]], device: torch.device, repeats: int) -> dict[str, float]:
    """Best wall time of each run over `repeats` rounds, after one warm-up round. A round runs every run once, so a
    slow spell of a shared machine slows all runs alike rather than one of them."""
    for fn in runs.values():
        fn()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for label, fn in runs.items():
            best[label] = min(best[label], wall(fn, device))
    return best


def operators_per_step(run: Callable[[int], object], steps: tuple[int, int] = (20, 40)) -> float:
    """Top-level aten operators (torch profiler) per step of `run(num_steps)`: the difference between two lengths over
    the difference in steps, so that what a run does once (setup, the last copy) cancels. Nested operators (those an
    operator calls) are not counted: each counted one is one dispatch, at most a few kernels."""
    from torch.profiler import ProfilerActivity, profile

    def count(num_steps: int) -> int:
        run(num_steps)  # warm-up: lazy initialisation is no step's work
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run(num_steps)
        return sum(1 for e in prof.events() if e.name.startswith("aten::")
                   and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")))

    short, long = steps
    return (count(long) - count(short)) / (long - short)


def machine(device: torch.device) -> str:
    """The device (GPU name, or CPU model), torch's version and threads, cores and Python: a benchmark's first line."""
    if device.type == "cuda":
        where = f"GPU {torch.cuda.get_device_name(device)}"
    else:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")] if Path("/proc/cpuinfo").exists() else []
        where = f"CPU {names[0] if names else platform.processor() or platform.machine()}"
    return (f"{where}; torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s), "
            f"{os.cpu_count()} cores visible; python {platform.python_version()}")
