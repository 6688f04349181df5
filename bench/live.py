"""The explorer as its users see it: `streamlit run app.py` driven by headless Chromium, against `alma.attack` alone.

    python bench/live.py                          # MNIST ℓ2 1000 steps and SqueezeNet CIEDE2000 100 steps
    python bench/live.py --quick --sessions 1,2   # short runs: a smoke check
    python bench/live.py --scenarios mnist --sessions 1,2,4 --repeats 3

First measures each scenario with the library in a separate process (same model, image, settings, device and CPU
threads as the page; best of --repeats runs after a short warm-up). Then starts the app on a free loopback port and,
per scenario, opens browser sessions (separate contexts, 1400×900) that load the scenario as a run config (the
sidebar's uploader), and measures:
- Stop: a long run of the scenario is stopped mid-run; seconds from the click to the stopped result on the page;
- one session pressing Run (--repeats times): app steps/s (from the run's wall time that the result panel shows, or
  from click → result when it shows none), seconds from the click to the result and to the first chart line, and
  chart redraws per second while it runs;
- N sessions pressing Run together: combined steps/s (all steps / first click → last result) and each session's
  steps/s (its steps / its own click → result), reported as max/min.
Prints the machine line and one markdown table with the goals beside; "n/a" where the page did not show a metric.
Latencies are medians over the repeats, throughputs the best. The app process (and all it started) is stopped at the
end, also after an error.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `ui` when run as a script

import live_driver as driver  # noqa: E402  (bench/live_driver.py, beside this file)

import alma  # noqa: E402
from alma.images import to_model_input  # noqa: E402
from alma.models import DEFAULT_MODEL, get_info, load_model  # noqa: E402
from alma.samples import list_samples, load_sample  # noqa: E402
from ui.config import AttackSettings, InputRef, RunConfig  # noqa: E402
from ui.models import AUTO, default_cpu_threads, resolve_device  # noqa: E402

from timing import machine, wall  # noqa: E402

STOP_RUN_STEPS = 100_000
"""Steps of the run that is stopped mid-run (long enough never to end by itself first)."""
STOP_AFTER_S = 1.0
"""Seconds the stopped run goes on after its first chart line."""
GOALS = {"ratio": 0.9, "first_line": 0.5, "redraws": 4.0, "stop": 0.5, "combined": 0.8, "spread": 1.25}


@dataclass(frozen=True)
class Scenario:
    name: str
    model: str
    dataset: str
    distance: str
    steps: int
    quick_steps: int

    def config(self, steps: int) -> RunConfig:
        """The run the page makes of this scenario: the dataset's first sample, the page's device and threads."""
        info = get_info(self.model)
        return RunConfig(model=self.model, input=InputRef(sample=list_samples(self.dataset)[0]),
                         attack=AttackSettings(distance=self.distance, num_steps=steps),
                         device=resolve_device(AUTO), cpu_threads=default_cpu_threads(info))

    def label(self, steps: int) -> str:
        config = self.config(steps)
        threads = f" ({config.cpu_threads} thread{'s' if config.cpu_threads > 1 else ''})" \
            if config.device == "cpu" else ""
        return f"{get_info(self.model).label} · {self.distance} · {steps} steps · {config.device}{threads}"


SCENARIOS = {"mnist": Scenario("mnist", DEFAULT_MODEL, "mnist", "l2", 1000, 200),
             "squeezenet": Scenario("squeezenet", "imagenet-squeezenet1_1-onnx", "imagenet", "ciede2000", 100, 10)}


# --- the library, in its own process ---------------------------------------------------------------------------------

def library_worker(config_json: str, repeats: int) -> None:
    """Prints {"steps_per_s": …} of `alma.attack` for the config: best of `repeats` after a short warm-up."""
    config = RunConfig.from_json(config_json)
    device = torch.device(config.device)
    if device.type == "cpu":
        torch.set_num_threads(config.cpu_threads)
    info = get_info(config.model)
    model = load_model(config.model, device)
    x = to_model_input(load_sample(config.input.sample), info, invert=config.input.invert).to(device)
    with torch.no_grad():
        labels = model(x).argmax(1)
    kwargs = config.attack.attack_kwargs()
    steps = kwargs.pop("num_steps")
    alma.attack(model, x, labels, num_steps=min(steps, 10), **kwargs)
    best = min(wall(lambda: alma.attack(model, x, labels, num_steps=steps, **kwargs), device)
               for _ in range(repeats))
    print(json.dumps({"steps_per_s": steps / best}))


def library_rate(config: RunConfig, repeats: int, timeout_s: float) -> float:
    done = subprocess.run([sys.executable, __file__, "--library-worker", config.to_json(), "--repeats", str(repeats)],
                          capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"the library run failed: {done.stderr.strip()[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["steps_per_s"])


# --- the app ---------------------------------------------------------------------------------------------------------

@dataclass
class Measured:
    """One scenario's figures (None: not measured or not shown by the page) and what the table should say about it."""

    library: float | None = None
    app: float | None = None
    app_source: str = ""
    click_to_result: float | None = None
    first_line: float | None = None
    redraws: float | None = None
    stop: float | None = None
    combined: dict[int, float] = field(default_factory=dict)
    spread: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _note_lost_clicks(measured: Measured, what: str, runs: list[driver.Run]) -> None:
    if lost := sum(r.lost_clicks for r in runs):
        measured.notes.append(f"{what}: {lost} Run click(s) started no run within {driver.LOST_CLICK_S:.0f} s "
                              "(page idle, Run enabled) and were clicked again; timed from the first click")


def _attempt(measured: Measured, what: str, fn: Callable[[], None]) -> bool:
    """Runs one measurement; a failure becomes a note (and n/a in the table) instead of ending the benchmark."""
    try:
        fn()
        return True
    except Exception as err:  # a timeout, a missing element, the app's own error: report it, go on
        measured.notes.append(f"{what}: {type(err).__name__}: {str(err)[:600]}")
        return False


def measure_app(browser: driver.Browser, url: str, scenario: Scenario, steps: int, sessions: list[int], repeats: int,
                measured: Measured, run_timeout_s: float, ready_timeout_s: float) -> None:
    config = scenario.config(steps).to_json()
    stop_config = scenario.config(STOP_RUN_STEPS).to_json()
    pages: list[driver.Session] = []

    def open_session(first: bool) -> driver.Session:
        session = driver.Session(browser, url, ready_timeout_s)
        pages.append(session)
        if first:  # the stop run also warms the page up (its model, its charts' scripts)
            session.load_config(stop_config, ready_timeout_s)
            session.wait_first_line(ready_timeout_s)
            time.sleep(STOP_AFTER_S)
            run = session.press(driver.STOP_KEY, ready_timeout_s)
            if driver.STOPPED.search(run.result_text):
                measured.stop = run.seconds
            else:
                measured.notes.append(f"Stop: the run was not shown as stopped ({run.result_text[:120]!r})")
            session.idle()
        session.load_config(config, ready_timeout_s)  # starts the scenario's run: stopped at once, a warm-up
        session.stop_and_settle(run_timeout_s)
        return session

    def single() -> None:
        runs = []
        for _ in range(repeats):
            runs.append(pages[0].press(driver.RUN_KEY, run_timeout_s))
            pages[0].idle()
        _note_lost_clicks(measured, "one session", runs)
        with_panel = [r for r in runs if r.steps and r.wall_s]
        if with_panel:
            measured.app, measured.app_source = max(r.steps / r.wall_s for r in with_panel), "result panel"
        else:
            measured.app, measured.app_source = max(steps / r.seconds for r in runs), "click → result"
        measured.click_to_result = statistics.median(r.seconds for r in runs)
        firsts = [r.first_line_s for r in runs if r.first_line_s is not None]
        measured.first_line = statistics.median(firsts) if firsts else None
        redraws = [r.redraws_per_s for r in runs if r.redraws_per_s is not None]
        measured.redraws = statistics.median(redraws) if redraws else None
        kinds = sorted({r.live_view for r in runs})
        if kinds != ["alma-live"]:
            measured.notes.append(f"live view found: {', '.join(kinds)} (no .alma-live: no redraw count)")
        measured.combined[1] = max((r.steps or steps) / r.seconds for r in runs)

    def together(n: int) -> None:
        best: tuple[float, float] | None = None
        queued = False
        for _ in range(repeats):
            for session in pages[:n]:
                session.ready()
            for session in pages[:n]:
                session.arm(driver.RUN_KEY)
            for session in pages[:n]:
                session.click(driver.RUN_KEY)
            runs = [session.collect(run_timeout_s * n) for session in pages[:n]]
            queued = queued or any(r.queued for r in runs)
            _note_lost_clicks(measured, f"{n} sessions", runs)
            total = sum(r.steps or steps for r in runs)
            combined = total / (max(r.result for r in runs) - min(r.click for r in runs))
            rates = [(r.steps or steps) / r.seconds for r in runs]
            if best is None or combined > best[0]:
                best = (combined, max(rates) / min(rates))
            for session in pages[:n]:
                session.idle()
        measured.combined[n], measured.spread[n] = best
        if queued:
            measured.notes.append(f"{n} sessions: runs waited in line for the device")

    try:
        if not _attempt(measured, "opening the first session and the Stop run", lambda: open_session(True)):
            return
        _attempt(measured, "one session", single)
        for n in (n for n in sessions if n > 1):
            if not _attempt(measured, f"opening sessions for {n}",
                            lambda: [open_session(False) for _ in range(n - len(pages))]):
                return
            _attempt(measured, f"{n} sessions together", lambda: together(n))
    finally:
        for session in pages:
            session.close()


# --- the table -------------------------------------------------------------------------------------------------------

def _cell(value: float | None, fmt: str, goal: float | None = None, higher: bool = True) -> str:
    """A number (fmt "rate": 3 significant digits, no exponent), with ✓ / ✗ beside it when it has a goal."""
    if value is None:
        return "n/a"
    mark = "" if goal is None else " ✓" if (value >= goal if higher else value <= goal) else " ✗"
    text = (f"{value:.0f}" if value >= 100 else f"{value:.3g}") if fmt == "rate" else f"{value:{fmt}}"
    return text + mark


def table(rows: list[tuple[str, Measured]], sessions: list[int]) -> str:
    header = ["scenario", "library steps/s", "app steps/s", "app ÷ library", "click → result s", "first line s",
              "redraws/s", "Stop s"]
    goal = ["goal", "", "", f"≥ {GOALS['ratio']}", "", f"≤ {GOALS['first_line']}", f"≥ {GOALS['redraws']:g}",
            f"≤ {GOALS['stop']}"]
    for n in sessions:
        if n == 1:
            header.append("1 session steps/s")
            goal.append("")
        else:
            header += [f"{n} sessions combined steps/s (÷ 1 session)", f"{n} sessions per-session max/min"]
            goal += [f"≥ {GOALS['combined']}× 1 session", f"≤ {GOALS['spread']}"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1), "| " + " | ".join(goal) + " |"]
    for label, m in rows:
        ratio = m.app / m.library if m.app and m.library else None
        cells = [label, _cell(m.library, "rate"), _cell(m.app, "rate"), _cell(ratio, ".2f", GOALS["ratio"]),
                 _cell(m.click_to_result, ".2f"), _cell(m.first_line, ".2f", GOALS["first_line"], higher=False),
                 _cell(m.redraws, ".1f", GOALS["redraws"]), _cell(m.stop, ".2f", GOALS["stop"], higher=False)]
        one = m.combined.get(1)
        for n in sessions:
            combined = m.combined.get(n)
            if n == 1:
                cells.append(_cell(combined, "rate"))
                continue
            relative = combined / one if combined and one else None
            cells.append("n/a" if combined is None else
                         f"{_cell(combined, 'rate')} ({_cell(relative, '.2f', GOALS['combined'])})")
            cells.append(_cell(m.spread.get(n), ".2f", GOALS["spread"], higher=False))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------------------------------

def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM, or SIGALRM at --time-limit: unwinds through the `finally` blocks that stop the app and the browser."""
    raise SystemExit(f"bench/live.py: ended by {signal.Signals(signum).name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="mnist,squeezenet", help=f"comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--sessions", default="1,2,4", help="comma-separated session counts")
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement (library and app)")
    parser.add_argument("--port", type=int, default=None, help="the app's port (default: a free one)")
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke check): MNIST 200, SqueezeNet 10")
    parser.add_argument("--run-timeout", type=float, default=None,
                        help="seconds one run may take in the app (default: from the library's speed)")
    parser.add_argument("--time-limit", type=float, default=120, help="minutes for the whole benchmark")
    parser.add_argument("--library-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.library_worker:
        library_worker(args.library_worker, args.repeats)
        return
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGALRM, _terminate)
    signal.alarm(max(1, round(args.time_limit * 60)))
    if (driver.REPO.parent / "shared" / "data").is_dir():  # the offline weights, for the library runs and the app
        os.environ.setdefault("ALMA_WEIGHTS_DIR", str(driver.REPO.parent / "shared" / "data"))

    scenarios = [SCENARIOS[name.strip()] for name in args.scenarios.split(",") if name.strip()]
    sessions = sorted({int(n) for n in args.sessions.split(",") if n.strip()} | {1})
    steps_of = {s.name: s.quick_steps if args.quick else s.steps for s in scenarios}
    device = resolve_device(AUTO)
    print(machine(torch.device(device)))

    results = {s.name: Measured() for s in scenarios}
    for s in scenarios:  # first, with nothing else running
        try:
            results[s.name].library = library_rate(s.config(steps_of[s.name]), args.repeats, timeout_s=1800)
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            results[s.name].notes.append(f"library: {err}")
    workdir = Path(tempfile.mkdtemp(prefix="alma-live-bench-"))
    server = driver.AppServer(args.port or driver.free_port(), workdir / "streamlit.log")
    try:
        server.wait_healthy(120)
        with driver.chromium() as browser:
            print(f"app: streamlit {metadata.version('streamlit')} at {server.url}, device {device}; browser: "
                  f"{driver.CHROMIUM} {browser.version}, {', '.join(map(str, sessions))} session(s), "
                  f"{args.repeats} repeat(s)")
            for s in scenarios:
                m, steps = results[s.name], steps_of[s.name]
                expected = steps / m.library if m.library else 60.0
                run_timeout = args.run_timeout or 60 + 20 * expected
                measure_app(browser, server.url, s, steps, sessions, args.repeats, m, run_timeout,
                            ready_timeout_s=180)
    finally:
        server.stop()
    print()
    print(table([(s.label(steps_of[s.name]), results[s.name]) for s in scenarios], sessions))
    notes = [f"{s.name}: app steps/s from the {results[s.name].app_source}" for s in scenarios
             if results[s.name].app_source]
    notes += [f"{s.name}: {note}" for s in scenarios for note in results[s.name].notes]
    if notes:
        print("\n" + "\n".join(f"- {note}" for note in notes))
    print(f"- the app's log: {server.log}")


if __name__ == "__main__":
    main()
