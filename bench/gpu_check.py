"""Everything a lent GPU machine is to measure, in one time-boxed run: one report to bring back.

    python3 bench/gpu_check.py OUT_DIR                      # on the GPU machine, about 8 minutes
    python3 bench/gpu_check.py OUT_DIR --dry-run            # every step at tiny sizes (the CPU when there is no GPU)
    python3 bench/gpu_check.py OUT_DIR --only 2 5           # some steps only

Steps, in order of priority, each time-boxed (what no longer fits in --budget-seconds is skipped, and said so):
1. the machine (GPU, driver, torch, CUDA) and `pytest -q tests/gpu`;
2. `bench/speed.py`: SmallCNN batch 1000, ResNet-50 batch 64, one 28×28 image; ratios against the targets;
3. `bench/distances.py` at batch 64: each distance against 1/3 of a ResNet-50 forward + backward;
4. the explorer's jobs (`ui.jobs` worker processes) in steps/s for an MNIST and a 224² model, beside `alma.attack`
   in this process;
5. Table 1 of the paper at budget 1000 on as many MNIST test images as fit (a short pilot run sizes it), split by
   attack over processes and merged with `bench/paper.py --tables`.
Writes OUT_DIR/report.md, OUT_DIR/raw.csv (one row per figure: section, item, value, unit, target, verdict) and
OUT_DIR/logs.tar.gz (each command's output, Table 1's CSVs), all three rewritten after every step. Weights and MNIST
come from $ALMA_WEIGHTS_DIR (see docs/gpu.md for the files a GPU machine needs).
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for `ui` when run as a script

from timing import machine, wall  # noqa: E402

RESERVE_S = 10.0
"""Kept free at the end for the last report."""
SECTIONS = {1: "Machine and CUDA tests", 2: "Attack speed (bench/speed.py)", 3: "Distances (bench/distances.py)",
            4: "The explorer's jobs (ui.jobs)", 5: "Table 1 of the paper (bench/paper.py)"}
CAPS_S = {1: 90, 2: 150, 3: 60, 4: 75}
"""Longest time each step may take on the GPU (step 5 gets the rest)."""
SPEED_TARGETS = (  # model, numerator, denominator, bound; the main tables (not batch 1)
    ("SmallCNN", "(c)", "(a)", 1.4), ("SmallCNN", "(c)", "(b)", 0.5),
    ("SmallCNN", "(d)", "(c)", 1.05), ("SmallCNN", "(e)", "(c)", 1.10),
    ("ResNet-50", "(c)", "(a)", 1.05), ("ResNet-50", "(c)", "(b)", 0.95),
    ("ResNet-50", "(d)", "(c)", 1.05), ("ResNet-50", "(e)", "(c)", 1.10),
)
GRAPH_TARGET = 1.3
"""One 28×28 image: ALMA with the CUDA graph at most 1.3× the bare forward + backward loop."""
DISTANCE_TARGET = 1 / 3
NOT_CARRIED = ("lpips_vgg",)
"""Distances whose weights (VGG16 features, 59 MB) a GPU machine is not given: not timed."""
TABLE1_ATTACKS = (("alma-l2", "adv_lib-alma-l2", "ddn", "fmn-l2"), ("alma-l1", "adv_lib-alma-l1", "fmn-l1"),
                  ("fab-l2",), ("fab-l1",))
"""Table 1's attacks (without C&W and APGD-T), one process per group so that a group that overruns costs only
itself; the cheap groups first."""
DRY_MODEL = "mnist-smallcnn-paper"
"""The one model of a dry run's Table 1."""
MNIST_TEST = 10000
BATCH = 1000
PROCESS_S = 12.0
"""Least time left worth starting a Table 1 process in (torch, CUDA, models take seconds)."""
EXPLORER_CASES = (("mnist-smallcnn", "mnist/3", 1000), ("imagenet-squeezenet1_1-onnx", "imagenet/coffee", 200))
"""(model, sample, steps) of the explorer runs of step 4: the app's default MNIST model and a 224² model."""


@dataclass
class Proc:
    """A finished (or killed) command: exit status, wall time and its output."""

    rc: int | None
    seconds: float
    output: str
    timed_out: bool

    def status(self) -> str:
        if self.timed_out:
            return f"stopped at its time limit after {self.seconds:.0f} s"
        return f"exit status {self.rc}, {self.seconds:.0f} s" if self.rc else f"ok, {self.seconds:.0f} s"


@dataclass
class Check:
    """The run's state: time left, the report's sections and rows, the logs."""

    out: Path
    dry: bool
    device: str
    budget: float
    logs: Path
    began: float = field(default_factory=time.monotonic)
    sections: dict[int, list[str]] = field(default_factory=dict)
    rows: list[dict[str, object]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.began) - RESERVE_S

    def box(self, step: int) -> float:
        """The time step `step` may take: its cap on the GPU (a dry run: no cap), at most what is left."""
        return self.left() if self.dry else min(CAPS_S[step], self.left())

    def say(self, section: int, *lines: str) -> None:
        self.sections.setdefault(section, []).extend(lines)

    def row(self, section: int, item: str, value: float | None, unit: str = "", target: str = "",
            verdict: str = "", note: str = "") -> None:
        self.rows.append({"section": section, "item": item, "value": value, "unit": unit, "target": target,
                          "verdict": verdict, "note": note})

    def verdict(self, ratio: float, bound: float) -> str:
        """PASS / MISS on a GPU; on the CPU (a dry run) the GPU targets say nothing."""
        if not self.cuda:
            return "cpu"
        return "PASS" if ratio <= bound else "MISS"

    def run(self, name: str, args: list[str], timeout: float) -> Proc:
        """Runs `python args…` in the repository root with its own process group, killed at `timeout`."""
        command = [sys.executable, *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        log = self.logs / f"{name}.log"
        began = time.monotonic()
        with open(log, "w") as f:
            f.write(f"$ {' '.join(command)}\n")
            f.flush()
            proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT, process_group=0)
            _CHILDREN.append(proc)
            timed_out = False
            try:
                proc.wait(timeout=max(1.0, timeout))
            except subprocess.TimeoutExpired:
                timed_out = True
                _end_group(proc)
            finally:
                _CHILDREN.remove(proc)
        text = log.read_text(errors="replace").split("\n", 1)[1]
        return Proc(proc.returncode, time.monotonic() - began, text, timed_out)

    def save(self) -> None:
        lines = [*self.header, f"Elapsed: {time.monotonic() - self.began:.0f} s of a {self.budget:.0f} s budget.", ""]
        for number, title in SECTIONS.items():
            lines += [f"## {number}. {title}", "", *self.sections.get(number, ["Not run."]), ""]
        _atomic_write(self.out / "report.md", "\n".join(lines))
        with open(self.out / "raw.csv.tmp", "w", newline="") as f:
            writer = csv.DictWriter(f, ["section", "item", "value", "unit", "target", "verdict", "note"])
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(self.out / "raw.csv.tmp", self.out / "raw.csv")
        with tarfile.open(self.out / "logs.tar.gz.tmp", "w:gz") as tar:
            tar.add(self.logs, arcname="logs")
        os.replace(self.out / "logs.tar.gz.tmp", self.out / "logs.tar.gz")


_CHILDREN: list[subprocess.Popen] = []
"""The command running now (each in a process group of its own, in this session)."""


def _on_term(signum: int, _frame: object) -> None:
    """Stopped from outside (e.g. at the caller's time limit): end the running command's group, then exit."""
    for proc in list(_CHILDREN):
        _end_group(proc, grace=1)
    raise SystemExit(128 + signum)


def _end_group(proc: subprocess.Popen, grace: float = 5) -> None:
    """Ends the process group this script started for `proc` (TERM, then KILL)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _atomic_write(path: Path, text: str) -> None:
    path.with_suffix(".tmp").write_text(text + "\n")
    os.replace(path.with_suffix(".tmp"), path)


def _fence(text: str, last: int = 25) -> list[str]:
    tail = text.strip().splitlines()[-last:]
    return ["```", *tail, "```"] if tail else []


# --- 1. machine and CUDA tests ---------------------------------------------------------------------------------------

def step_machine(c: Check) -> None:
    device = torch.device(c.device)
    line = machine(device)
    if c.cuda:
        line += (f"; CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
                 f"{torch.cuda.get_device_properties(device).total_memory / 2**30:.0f} GiB")
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            line += f"; driver {smi or '?'}"
        except (OSError, subprocess.TimeoutExpired):
            line += "; driver: nvidia-smi not found"
    c.say(1, f"Machine: {line}.", "")
    if not c.cuda:
        c.say(1, "`pytest -q tests/gpu`: skipped (no CUDA).")
        return
    proc = c.run("1_pytest_gpu", ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/gpu"],
                 c.box(1))
    summary = next((s for s in reversed(proc.output.strip().splitlines()) if " in " in s), "no summary")
    c.say(1, f"`pytest -q tests/gpu`: {proc.status()}: {summary}")
    c.row(1, "pytest tests/gpu", proc.rc, "exit status", "0", "PASS" if proc.rc == 0 else "MISS", summary)
    if proc.rc:
        c.say(1, *_fence(proc.output))


# --- 2. speed ----------------------------------------------------------------------------------------------------

_TITLE = re.compile(r"^(?P<title>[^|:\n][^:\n]*): batch (?P<batch>\d+)")
_VARIANT = re.compile(r"^\| (?P<label>\([a-z]\)[^|]*?) \| (?P<ms>[0-9.]+) \|")
_ONE_IMAGE = re.compile(r"^One .*?: (?P<alma>[0-9.]+) s .*?: (?P<bare>[0-9.]+) s")


@dataclass
class SpeedTable:
    title: str
    batch: int
    ms: dict[str, float] = field(default_factory=dict)
    """ms per iteration by variant label, e.g. "(a) bare fwd+bwd"."""

    def get(self, key: str) -> float | None:
        """The time of the variant whose label starts with `key` ("(c)") or contains it ("graph")."""
        return next((v for label, v in self.ms.items() if label.startswith(key) or key in label.lower()), None)


def parse_speed(text: str) -> tuple[list[SpeedTable], tuple[float, float] | None]:
    """speed.py's tables, in order, and its one-image line (ALMA seconds, bare seconds) when printed."""
    tables: list[SpeedTable] = []
    one_image = None
    for line in text.splitlines():
        if (m := _TITLE.match(line)) and not line.startswith("|"):
            tables.append(SpeedTable(m["title"].strip(), int(m["batch"])))
        elif (m := _VARIANT.match(line)) and tables:
            tables[-1].ms[m["label"].strip()] = float(m["ms"])
        elif m := _ONE_IMAGE.match(line):
            one_image = float(m["alma"]), float(m["bare"])
    return tables, one_image


def speed_args(c: Check) -> list[str]:
    if not c.dry:
        return ["--device", c.device, "--steps", "100", "--repeats", "3"]
    return ["--device", c.device, "--steps", "2", "--repeats", "1", "--smallcnn-batch", "8", "--skip-resnet",
            "--threads", "1", "--image-steps", "20"]


def step_speed(c: Check) -> None:
    proc = c.run("2_speed", ["bench/speed.py", *speed_args(c)], c.box(2))
    c.say(2, f"`python bench/speed.py {' '.join(speed_args(c))}`: {proc.status()}.", "")
    tables, one_image = parse_speed(proc.output)
    if not tables:
        c.say(2, "No table in its output:", *_fence(proc.output))
        return
    lines = ["| model | batch | ratio | value | target | verdict |", "|---|---:|---|---:|---:|---|"]
    for table in tables:
        for label, ms in table.ms.items():
            c.row(2, f"{table.title}, batch {table.batch}: {label}", ms, "ms/iteration")
        kind = next((t[0] for t in SPEED_TARGETS if table.title.startswith(t[0])), None)
        if table.batch == 1 and table.title.startswith("SmallCNN"):
            pairs = [("graph", "(a)", GRAPH_TARGET), ("(c)", "(a)", None)]
        else:
            pairs = [(n, d, bound) for model, n, d, bound in SPEED_TARGETS if model == kind]
        for numerator, denominator, bound in pairs:
            top, bottom = table.get(numerator), table.get(denominator)
            name = f"{numerator.strip('()')}/{denominator.strip('()')}"
            if top is None or bottom is None:
                if bound is not None:
                    lines.append(f"| {table.title} | {table.batch} | {name} | not measured | ≤ {bound} | – |")
                continue
            ratio = top / bottom
            verdict = c.verdict(ratio, bound) if bound is not None else ""
            target = f"≤ {bound}" if bound is not None else ""
            lines.append(f"| {table.title} | {table.batch} | {name} | {ratio:.3f} | {target} | {verdict} |")
            c.row(2, f"{table.title}, batch {table.batch}: {name}", ratio, "ratio", target, verdict)
    for model in dict.fromkeys(t[0] for t in SPEED_TARGETS):
        if not any(t.title.startswith(model) and t.batch > 1 for t in tables):
            lines.append(f"| {model} | – | every ratio | not measured | | – |")
    if not any(t.batch == 1 and t.get("graph") is not None for t in tables):
        lines.append(f"| one 28×28 image, CUDA graph | 1 | graph/a | not measured | ≤ {GRAPH_TARGET} | – |")
    if one_image is not None:
        alma_s, bare_s = one_image
        lines.append(f"| one 28×28 image, 1000 steps | 1 | ALMA / bare loop | {alma_s / bare_s:.3f} | | |")
        c.row(2, "one 28x28 image, 1000 steps: ALMA", alma_s, "s")
        c.row(2, "one 28x28 image, 1000 steps: bare loop", bare_s, "s")
    c.say(2, *lines, "", "speed.py's output:", *_fence(proc.output, last=60))


# --- 3. distances ------------------------------------------------------------------------------------------------

_DISTANCE = re.compile(r"^(?P<name>\S+)\s+(?P<ms>[0-9.]+)\s+(?P<ratio>[0-9.]+)")


def step_distances(c: Check) -> None:
    from alma.distances import available

    names = [n for n in available() if n not in NOT_CARRIED]
    args = ["--device", c.device, *(["--batch", "1", "--size", "32", "--repeats", "1"] if c.dry else
                                    ["--batch", "64", "--repeats", "3"])]
    proc = c.run("3_distances", ["bench/distances.py", *args, "--distances", *names], c.box(3))
    c.say(3, f"`python bench/distances.py {' '.join(args)} --distances …` ({', '.join(names)}; not timed: "
             f"{', '.join(NOT_CARRIED)}, whose weights are not carried): {proc.status()}.", "",
          "| distance | ms | / ResNet-50 fwd + bwd | target | verdict |", "|---|---:|---:|---:|---|")
    for line in proc.output.splitlines():
        if (m := _DISTANCE.match(line)) is None:
            continue
        ms, ratio = float(m["ms"]), float(m["ratio"])
        reference = m["name"] == "resnet50"
        verdict = "" if reference else c.verdict(ratio, DISTANCE_TARGET)
        target = "" if reference else "≤ 0.333"
        c.say(3, f"| {m['name']} | {ms:.1f} | {ratio:.3f} | {target} | {verdict} |")
        c.row(3, m["name"], ms, "ms", "", "", "forward + backward")
        if not reference:
            c.row(3, f"{m['name']} / resnet50", ratio, "ratio", target, verdict)
    c.say(3, "", "distances.py's output:", *_fence(proc.output))


# --- 4. the explorer's jobs ----------------------------------------------------------------------------------------

def explorer_runs(c: Check) -> list[tuple[str, object, int]]:
    """(model, ExplorerTask, steps) for each case of `EXPLORER_CASES`."""
    from alma.images import to_model_input
    from alma.models import get_info
    from alma.samples import load_sample
    from ui.config import AttackSettings, InputRef, RunConfig
    from ui.outcome import ExplorerTask

    runs = []
    for model, sample, steps in EXPLORER_CASES:
        steps = 2 if c.dry else steps
        config = RunConfig(model=model, input=InputRef(sample=sample), attack=AttackSettings(num_steps=steps),
                           device=c.device, cpu_threads=1)
        image = to_model_input(load_sample(sample), get_info(model))[0]
        runs.append((model, ExplorerTask(config=config, image=image), steps))
    return runs


def in_process_rates(c: Check, task, steps: int) -> dict[str, float]:
    """steps/s of `alma.attack` here for the task's run: with the app's per-step callback, and without."""
    from alma import attack
    from alma.models import load_model

    config = task.config
    device = torch.device(config.device)
    model = load_model(config.model, device)
    x = task.image.to(device).unsqueeze(0)
    with torch.no_grad():
        y = model(x).argmax(1)
    kwargs = config.attack.attack_kwargs()
    attack(model, x, y, **{**kwargs, "num_steps": min(10, max(1, steps // 10))})  # warm-up
    runs: dict[str, Callable[[], object]] = {
        "alma.attack, on_step every step": lambda: attack(model, x, y, **kwargs, on_step=lambda s, r: True, every=1),
        "alma.attack, record=True, no on_step": lambda: attack(model, x, y, **kwargs),
    }
    return {label: steps / wall(fn, device) for label, fn in runs.items()}


def step_jobs(c: Check) -> None:
    began = time.monotonic()
    cap = c.box(4)
    lines = ["| model | run | steps | seconds | steps/s |", "|---|---|---:|---:|---:|"]
    try:
        from ui.jobs import Pool
        runs = explorer_runs(c)
    except Exception as err:
        c.say(4, f"Not run: `ui.jobs` / `ui.outcome.ExplorerTask` not usable here ({type(err).__name__}: {err}).")
        return
    pool = Pool()
    try:
        for model, task, steps in runs:
            for attempt in ("1st job (worker loads the model)", "2nd job (warm)"):
                timeout = cap - (time.monotonic() - began)
                if timeout < 5:
                    lines.append(f"| {model} | {attempt} | – | – | skipped: out of time |")
                    continue
                job = pool.submit(task, device=c.device, threads=1)
                snap = job.join(timeout)
                if snap.result is None:
                    job.stop()
                    problem = snap.error or f"not finished after {timeout:.0f} s"
                    lines.append(f"| {model} | {attempt} | {snap.steps} | {snap.active_seconds:.2f} | "
                                 f"failed: {str(problem).splitlines()[0][:120]} |")
                    continue
                outcome = snap.result
                rate = snap.steps / snap.active_seconds if snap.active_seconds > 0 else float("nan")
                loop = outcome.steps / outcome.wall_seconds if outcome.wall_seconds > 0 else float("nan")
                lines.append(f"| {model} | {attempt}: whole job | {snap.steps} | {snap.active_seconds:.2f} | "
                             f"{rate:.1f} |")
                lines.append(f"| {model} | {attempt}: attack loop | {outcome.steps} | {outcome.wall_seconds:.2f} | "
                             f"{loop:.1f} |")
                c.row(4, f"{model}: job {attempt}", rate, "steps/s", note="whole job (model, measures included)")
                c.row(4, f"{model}: job {attempt}, attack loop", loop, "steps/s", note="RunOutcome.wall_seconds")
            if cap - (time.monotonic() - began) < 10:
                lines.append(f"| {model} | in this process | – | – | skipped: out of time |")
                continue
            for label, rate in in_process_rates(c, task, steps).items():
                lines.append(f"| {model} | {label} | {steps} | {steps / rate:.2f} | {rate:.1f} |")
                c.row(4, f"{model}: {label}", rate, "steps/s", note="in this process")
    finally:
        pool.shutdown()
    c.say(4, f"One explorer run per model ({', '.join(f'{m}: {s}' for m, s, _ in EXPLORER_CASES)}; ALMA ℓ2, "
             f"{'2 steps (dry run)' if c.dry else 'the steps in the table'}), submitted twice to `ui.jobs.Pool` on "
             f"{c.device} with 1 thread, then the same `alma.attack` call in this process.", "", *lines)


# --- 5. Table 1 ----------------------------------------------------------------------------------------------------

def estimate_seconds(pilot: pd.DataFrame, budget: int) -> float:
    """Seconds for every (model, attack) of a pilot run at `budget`, from the pilot's two budgets: a fixed part and
    a part per step (where warm-up makes the smaller budget slower, the larger one's time per step alone)."""
    total = 0.0
    for _, rows in pilot.groupby(["model", "attack"]):
        times = rows.groupby("budget")["seconds"].min().sort_index()
        (low, t_low), (high, t_high) = list(times.items())[0], list(times.items())[-1]
        per_step = (t_high - t_low) / (high - low) if high > low else 0.0
        if per_step <= 0:
            total += t_high / high * budget
        else:
            total += max(0.0, t_low - low * per_step) + budget * per_step
    return total


def images_that_fit(seconds_per_batch: float, available: float, batch: int = BATCH, total: int = MNIST_TEST,
                    least: int = 10) -> int:
    """How many test images Table 1 can take in `available` seconds when one batch of `batch` costs
    `seconds_per_batch`: whole batches when at least one fits (time grows by batch), else a share of one batch
    shrunk once more by that share (a GPU batch gets cheaper less than in proportion to its size)."""
    if seconds_per_batch <= 0:
        return total
    share = available / seconds_per_batch
    if share >= 1:
        return min(total, int(share) * batch)
    return max(least, int(batch * share * share) // least * least)


def paper_args(c: Check, attacks: tuple[str, ...], n: int, budgets: tuple[int, ...], out: Path) -> list[str]:
    models = ["--models", DRY_MODEL] if c.dry else []
    return ["bench/paper.py", "--n", str(n), "--budgets", *map(str, budgets), "--attacks", *attacks, *models,
            "--device", c.device, "--out", str(out)]


def size_table1(c: Check, attacks: tuple[str, ...], budget: int, processes: int) -> int:
    """Test images for Table 1: a pilot run of every attack at two small budgets on one batch, extrapolated (a dry
    run: on 2 images, and Table 1 takes 2 images whatever the pilot says)."""
    pilot_n, pilot_budgets = (2, (3, 4)) if c.dry else (BATCH, (5, 25))
    pilot = c.run("5_pilot", paper_args(c, attacks, pilot_n, pilot_budgets, c.logs / "pilot"), min(150, c.left()))
    if pilot.rc != 0:
        c.say(5, f"Pilot run: {pilot.status()}; going on with {BATCH} images.", *_fence(pilot.output, last=8))
        return BATCH
    runs = pd.read_csv(c.logs / "pilot.csv")
    seconds = estimate_seconds(runs, budget)
    overhead = max(5.0, pilot.seconds - runs["seconds"].sum())
    available = c.left() - overhead * (processes + 1)
    n = 2 if c.dry else images_that_fit(seconds, available)
    c.say(5, f"Pilot (budgets {pilot_budgets}, {pilot_n} images, every attack): {pilot.status()}, of which "
             f"{overhead:.0f} s outside the attacks; budget {budget} estimated at {seconds:.0f} s per {pilot_n} "
             f"images; {available:.0f} s left for the attacks → {n} images.")
    c.row(5, f"estimated seconds per {pilot_n} images at budget {budget}", seconds, "s")
    c.row(5, "seconds per process outside the attacks", overhead, "s")
    return n


def step_table1(c: Check) -> None:
    from alma.compare import ATTACKS

    budget, groups = (3, (TABLE1_ATTACKS[0] + TABLE1_ATTACKS[1], TABLE1_ATTACKS[2] + TABLE1_ATTACKS[3])) \
        if c.dry else (1000, TABLE1_ATTACKS)
    groups = tuple(tuple(a for a in g if a in ATTACKS) for g in groups)
    if not _adv_lib_ok():
        c.say(5, "adv_lib does not import here: only our ALMA runs.")
        groups = tuple(tuple(a for a in g if ATTACKS[a].library == "alma") for g in groups)
    groups = tuple(g for g in groups if g)
    n = size_table1(c, tuple(a for g in groups for a in g), budget, len(groups))
    c.row(5, "images", n, "MNIST test images")
    done, report = [], []
    for i, group in enumerate(groups, 1):
        timeout = c.left()
        if timeout < PROCESS_S:
            report.append(f"- {', '.join(group)}: skipped, out of time.")
            continue
        csv_path = c.logs / f"table1_{i}"
        proc = c.run(f"5_table1_{i}", paper_args(c, group, n, (budget,), csv_path), timeout)
        report.append(f"- {', '.join(group)}: {proc.status()}.")
        if proc.rc == 0:
            done.append(csv_path.with_suffix(".csv"))
        elif not proc.timed_out:
            report += _fence(proc.output, last=8)
    c.say(5, f"Budget {budget}, first {n} MNIST test images, one process per group of attacks:", "", *report, "")
    if not done:
        c.say(5, "No group finished: no table.")
        return
    merged = c.run("5_tables", ["bench/paper.py", "--tables", *map(str, done)], max(30.0, c.left() + RESERVE_S / 2))
    c.say(5, f"`python bench/paper.py --tables …` ({merged.status()}; the CSVs are in logs.tar.gz):", "",
          merged.output.strip().replace(f"{c.logs}/", "logs/"))
    summary = pd.concat(map(pd.read_csv, done), ignore_index=True)
    for r in summary.itertuples():
        for column, unit in (("asr", "fraction"), ("median", "distance"), ("seconds", "s")):
            c.row(5, f"{r.model} {r.attack} {r.budget}: {column}", getattr(r, column), unit, note=f"n = {r.n}")


def _adv_lib_ok() -> bool:
    try:
        from adv_lib.attacks import alma, ddn, fab, fmn  # noqa: F401
    except Exception:
        return False
    return True


# --- main ----------------------------------------------------------------------------------------------------------

STEPS: dict[int, Callable[[Check], None]] = {1: step_machine, 2: step_speed, 3: step_distances, 4: step_jobs,
                                             5: step_table1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for report.md, raw.csv and logs.tar.gz")
    parser.add_argument("--dry-run", action="store_true", help="every step at tiny sizes (the CPU without a GPU)")
    parser.add_argument("--budget-seconds", type=float, default=480.0)
    parser.add_argument("--only", type=int, nargs="+", choices=list(STEPS), default=list(STEPS))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _on_term)
    if not args.dry_run and not torch.cuda.is_available():
        parser.error("no CUDA device here: use --dry-run")
    os.environ.setdefault("ALMA_WEIGHTS_DIR", str(REPO / ".gpu_data" if (REPO / ".gpu_data").is_dir()
                                                  else REPO.parent / "shared" / "data"))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        c = Check(args.out, args.dry_run, "cuda:0" if torch.cuda.is_available() else "cpu", args.budget_seconds,
                  logs)
        c.header = ["# GPU check", "", f"`python bench/gpu_check.py {' '.join(sys.argv[1:])}`"
                    f"{' (dry run: tiny sizes, no figure means anything)' if args.dry_run else ''}; device "
                    f"{c.device}; ALMA_WEIGHTS_DIR={os.environ['ALMA_WEIGHTS_DIR']}."]
        for number in args.only:
            began = time.monotonic()
            if c.left() < 5:
                c.say(number, f"Skipped: out of time ({c.left() + RESERVE_S:.0f} s left of the budget).")
                c.save()
            else:
                try:
                    STEPS[number](c)
                except Exception as err:
                    c.say(number, f"Failed: {type(err).__name__}: {err}", *_fence(traceback.format_exc(), last=12))
                except SystemExit:
                    c.say(number, "Stopped from outside (SIGTERM) during this step.")
                    raise
                finally:
                    c.say(number, "", f"Step time: {time.monotonic() - began:.0f} s.")
                    c.save()
            print(f"step {number} ({SECTIONS[number]}): {time.monotonic() - began:.0f} s", file=sys.stderr)
    print((args.out / "report.md").read_text())


if __name__ == "__main__":
    main()
