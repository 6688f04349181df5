"""A class on one server: the real app on a loopback port and N headless Chromium sessions using it at once.

    python bench/soak.py --sessions 8 --minutes 5        # the classroom soak (a quiet machine: ~10 processes)
    python bench/soak.py --sessions 2 --minutes 0.5      # the short version the test suite runs
    python bench/soak.py --sessions 1 --runs 100         # one session's memory over 100 runs

Each session (its own browser context, so its own Streamlit session; seeded by its number) repeats, until the time is
up: pick a sample (by loading a run config: a random sample, distance ℓ1 / ℓ2 / CIEDE2000 and 30-300 steps) or upload
an image (a drawn digit, then Run), wait for the first chart line, then let the run finish, or pause / step /
resume it, or stop it; then sometimes download the adversarial PNG and sometimes switch to another page and back.

Reports: runs started / finished / failed; errors seen in the pages (exceptions, error alerts, uncaught JavaScript
errors) and in the server log (tracebacks); each session's throughput (attack steps per minute; fairness: the
slowest against the mean); Run → first chart line and Stop → stopped result latencies (median, p95); the RSS of the
server and of its workers at start, after warm-up and at the end. Goals: 0 failed runs, 0 page errors, memory at the
end ≤ 1.2× after warm-up, no session below half the mean throughput. With `--runs N`, each session instead does N
runs (finished, 30 steps each) and the table adds the server's memory after the first tenth and after the last.
Exits with 1 when a goal is missed (`--json PATH` also writes the figures).
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `ui` when run as a script

import live_driver as driver  # noqa: E402  (bench/live_driver.py, beside this file)
import torch  # noqa: E402

from alma.samples import draw_digit, list_samples  # noqa: E402
from ui.config import AttackSettings, InputRef, RunConfig  # noqa: E402
from ui.images import image_png  # noqa: E402

from timing import machine  # noqa: E402

DISTANCES = ("l1", "l2", "ciede2000")
STEPS = (30, 300)
MEMORY_RUN_STEPS = 30
LONG_RUN_STEPS = 100_000
"""Steps of a run that will be paused or stopped: it never ends by itself first."""
RUN_TIMEOUT_S = 120.0
GOALS = {"failed": 0, "page_errors": 0, "memory_growth": 1.2, "fairness": 0.5}
OTHER_PAGE = "Penalty functions"
STOPPED = re.compile(r"stopped after (\d+) of (\d+) steps")
SERVER_ERRORS = re.compile(r"Traceback|Uncaught app exception|^\S*Error\b", re.MULTILINE)


@dataclass
class SessionLog:
    """What one session did and saw."""

    name: str
    started: int = 0
    finished: int = 0
    failed: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    first_line_s: list[float] = field(default_factory=list)
    stop_s: list[float] = field(default_factory=list)
    downloads: int = 0
    page_switches: int = 0
    warmup_s: float = 0.0
    """The first run (30 steps, the workers starting): counted in runs, not in throughput and latencies."""

    @property
    def steps_per_minute(self) -> float:
        return 60 * self.steps / self.seconds if self.seconds else 0.0


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memory(server: driver.AppServer) -> tuple[float, float]:
    """RSS in MB of the server process and of all its workers together."""
    main = server._process.pid  # noqa: SLF001 — the driver's own process handle
    workers = [pid for pid in server._members() if pid != main]  # noqa: SLF001
    return _rss_mb(main), sum(_rss_mb(pid) for pid in workers)


class Visitor:
    """One session's user: a browser context on the app and a seeded sequence of actions."""

    def __init__(self, browser, url: str, index: int, log: SessionLog, max_steps: int = STEPS[1]) -> None:
        self.rng = random.Random(index)
        self.max_steps = max_steps
        self.log = log
        self.session = driver.Session(browser, url, timeout_s=RUN_TIMEOUT_S)
        self.page = self.session.page
        self.page.on("pageerror", lambda error: log.page_errors.append(f"javascript: {error}"))
        self.samples = list_samples("mnist")

    def close(self) -> None:
        self.session.close()

    def _check_page(self) -> None:
        main = self.page.get_by_test_id("stMain")
        if main.get_by_test_id("stException").count():
            self.log.page_errors.append("exception: " + main.get_by_test_id("stException").first.inner_text()[:300])
        for alert in main.locator("[data-testid=stAlertContentError]").all():
            self.log.page_errors.append("error alert: " + alert.inner_text()[:300])

    def _config(self, steps: int) -> str:
        settings = AttackSettings(distance=self.rng.choice(DISTANCES), num_steps=steps, levels=256)
        return RunConfig(model="mnist-smallcnn", input=InputRef(sample=self.rng.choice(self.samples)),
                         attack=settings).to_json()

    def _upload_and_run(self, steps: int) -> None:
        """Upload a drawn digit, set the steps, press Run."""
        main, sidebar = self.page.get_by_test_id("stMain"), self.page.get_by_test_id("stSidebar")
        main.get_by_role("radio", name="Upload").click()
        self.session.idle()
        digit = image_png(1 - draw_digit(self.rng.randrange(10)), enlarge=False)
        main.locator(".st-key-upload input[type=file]").set_input_files(
            {"name": "digit.png", "mimeType": "image/png", "buffer": digit})
        main.get_by_text("The model predicts").wait_for(timeout=30_000)
        sidebar.get_by_role("radio", name="custom").click()
        box = sidebar.get_by_label("Custom number of steps")
        box.fill(str(steps))
        box.press("Enter")
        self.session.ready()
        self.session.arm(driver.RUN_KEY)
        self.session.click(driver.RUN_KEY)

    def _back_to_samples(self) -> None:
        radio = self.page.get_by_test_id("stMain").get_by_role("radio", name="Sample")
        if radio.count() and not radio.is_checked():
            radio.click()
            self.session.idle()

    def one_run(self, steps: int | None = None, act: bool = True) -> None:
        """One run, start to result, with the user's actions in between; errors are counted, never raised. A run
        that is paused or stopped is a long one (`LONG_RUN_STEPS`), ended by Stop."""
        action = self.rng.choice(("finish", "finish", "pause", "stop")) if act else "finish"
        steps = LONG_RUN_STEPS if action != "finish" else steps or self.rng.randint(STEPS[0], self.max_steps)
        upload = act and self.rng.random() < 0.3
        started = time.monotonic()
        self.log.started += 1
        try:
            if upload:
                self._upload_and_run(steps)
            else:
                self._back_to_samples()
                self.session.load_config(self._config(steps), RUN_TIMEOUT_S)
            clicked = time.monotonic()
            self.session.wait_first_line(RUN_TIMEOUT_S)
            self.log.first_line_s.append(time.monotonic() - clicked)
            done = steps
            if action == "pause":
                self.session.click("explorer_run_pause")
                self.page.get_by_test_id("stProgress").get_by_text("paused").wait_for(timeout=30_000)
                self.page.wait_for_timeout(self.rng.randint(200, 1500))
                self.session.click("explorer_run_step")
                self.page.wait_for_timeout(300)
                self.session.click("explorer_run_pause")  # Resume: the same key
                self.page.wait_for_timeout(self.rng.randint(200, 1500))
            if action in ("pause", "stop"):
                self.page.wait_for_timeout(self.rng.randint(300, 2000))
                stop_clicked = time.monotonic()
                self.session.click(driver.STOP_KEY, timeout_s=10.0)
                self.session.wait(driver.STATE_DONE, RUN_TIMEOUT_S, "the stopped result")
                self.log.stop_s.append(time.monotonic() - stop_clicked)
            self.session.wait(driver.STATE_DONE, RUN_TIMEOUT_S, "the run's result")
            text = self.page.get_by_test_id("stMain").inner_text()
            if match := STOPPED.search(text):
                done = int(match[1])
            self.log.finished += 1
            self.log.steps += done
            self.session.idle()
            self._check_page()
            if act and self.rng.random() < 0.3:
                with self.page.expect_download(timeout=30_000):
                    self.page.get_by_role("button", name="Adversarial (PNG)").click()
                self.log.downloads += 1
            if act and self.rng.random() < 0.2:
                nav = self.page.get_by_test_id("stSidebarNav")
                nav.get_by_role("link", name=OTHER_PAGE, exact=True).click()
                self.page.get_by_test_id("stMain").get_by_text("Axioms, checked numerically").wait_for()
                nav.get_by_role("link", name="Attack explorer", exact=True).click()
                self.page.get_by_test_id("stMain").get_by_text("The model predicts").wait_for()
                self.session.idle()
                self.log.page_switches += 1
        except Exception as err:  # noqa: BLE001 — a soak counts what went wrong and goes on
            self.log.failed.append(f"{type(err).__name__}: {str(err)[:300]}")
            try:
                self.page.reload()
                self.session.idle()
            except Exception:  # noqa: BLE001
                pass
        finally:
            self.log.seconds += time.monotonic() - started


def _visit(url: str, index: int, log: SessionLog, runs: int | None, ready: threading.Barrier,
           stop: threading.Event, max_steps: int) -> None:
    """One session: opens the page, waits for the others, then acts until `stop` (or for `runs` runs)."""
    with driver.chromium() as browser:
        try:
            visitor = Visitor(browser, url, index, log, max_steps)
            visitor.one_run(MEMORY_RUN_STEPS, act=False)  # warm-up: the workers start and load the model
            log.warmup_s = log.seconds
            log.first_line_s.clear()
            log.seconds, log.steps = 0.0, 0
        except Exception as err:  # noqa: BLE001
            log.failed.append(f"the page did not open: {type(err).__name__}: {str(err)[:300]}")
            ready.abort()
            return
        try:
            ready.wait()
            for _ in iter(int, 1) if runs is None else range(runs):
                if stop.is_set():
                    break
                visitor.one_run(MEMORY_RUN_STEPS if runs else None, act=runs is None)
        finally:
            visitor.close()


def _quantiles(values: list[float]) -> str:
    """Median / p95."""
    if not values:
        return "n/a"
    p95 = sorted(values)[max(0, round(0.95 * len(values)) - 1)]
    return f"{statistics.median(values):.2f} / {p95:.2f}"


def soak(sessions: int, minutes: float, runs: int | None, warmup_s: float, max_steps: int = STEPS[1]) -> dict:
    """Runs the soak and returns its figures (see the module docstring)."""
    logs = [SessionLog(f"session {i + 1}") for i in range(sessions)]
    ready, stop = threading.Barrier(sessions + 1, timeout=300), threading.Event()
    with tempfile.TemporaryDirectory() as tmp:
        server = driver.AppServer(driver.free_port(), Path(tmp) / "server.log")
        try:
            server.wait_healthy(120)
            at_start = memory(server)
            threads = [threading.Thread(target=_visit, args=(server.url, i, log, runs, ready, stop, max_steps),
                                        daemon=True)
                       for i, log in enumerate(logs)]
            for thread in threads:
                thread.start()
            ready.wait()
            began = time.monotonic()
            warm = memory(server)
            after_warmup = after_tenth = None
            while any(thread.is_alive() for thread in threads):
                time.sleep(0.5)
                elapsed = time.monotonic() - began
                if after_warmup is None and elapsed >= warmup_s:  # the warm-up runs, then `warmup_s` more
                    after_warmup = memory(server)
                if runs and after_tenth is None and sum(log.finished for log in logs) >= max(1, runs * sessions // 10):
                    after_tenth = memory(server)
                if runs is None and elapsed >= 60 * minutes:
                    stop.set()  # each session ends its current run
            duration = time.monotonic() - began
            at_end = memory(server)
            server_errors = [line for line in server.log.read_text(errors="replace").splitlines()
                             if SERVER_ERRORS.search(line)]
        finally:
            stop.set()
            server.stop()
    return {"machine": machine(torch.device("cpu")), "sessions": sessions, "minutes": minutes, "runs_per_session": runs,
            "duration_s": duration, "logs": [vars(log) | {"steps_per_minute": log.steps_per_minute} for log in logs],
            "memory_mb": {"start": at_start, "after_warmup": after_warmup or warm, "after_tenth": after_tenth,
                          "end": at_end},
            "server_errors": server_errors}


def verdict(figures: dict) -> dict[str, tuple[str, bool]]:
    """Each goal: the measured value (as text) and whether it is met."""
    logs = figures["logs"]
    failed = sum(len(log["failed"]) for log in logs)
    page_errors = sum(len(log["page_errors"]) for log in logs) + len(figures["server_errors"])
    warm, end = (sum(figures["memory_mb"][k]) for k in ("after_warmup", "end"))
    growth = end / warm if warm else 1.0
    rates = [log["steps_per_minute"] for log in logs]
    mean = statistics.mean(rates) if rates else 0.0
    fairness = min(rates) / mean if mean else 0.0
    return {"failed runs": (str(failed), failed <= GOALS["failed"]),
            "page and server errors": (str(page_errors), page_errors <= GOALS["page_errors"]),
            "memory end ÷ after warm-up": (f"{growth:.2f}", growth <= GOALS["memory_growth"]),
            "slowest session ÷ mean throughput": (f"{fairness:.2f}", fairness >= GOALS["fairness"])}


def report(figures: dict) -> str:
    """The markdown tables of a soak."""
    logs = figures["logs"]
    lines = [f"machine: {figures['machine']}", f"{figures['sessions']} sessions, {figures['duration_s']:.0f} s"
             + (f", {figures['runs_per_session']} runs each" if figures["runs_per_session"] else ""), "",
             "| session | runs started | finished | failed | page errors | steps/min | Run → first line s (median / "
             "p95) | Stop → stopped s (median / p95) | downloads | page switches |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for log in logs:
        lines.append(f"| {log['name']} | {log['started']} | {log['finished']} | {len(log['failed'])} | "
                     f"{len(log['page_errors'])} | {log['steps_per_minute']:.0f} | {_quantiles(log['first_line_s'])} "
                     f"| {_quantiles(log['stop_s'])} | {log['downloads']} | {log['page_switches']} |")
    every = lambda key: [v for log in logs for v in log[key]]
    lines.append(f"| all | {sum(log['started'] for log in logs)} | {sum(log['finished'] for log in logs)} | "
                 f"{sum(len(log['failed']) for log in logs)} | {sum(len(log['page_errors']) for log in logs)} | "
                 f"{sum(log['steps_per_minute'] for log in logs):.0f} | {_quantiles(every('first_line_s'))} | "
                 f"{_quantiles(every('stop_s'))} | {sum(log['downloads'] for log in logs)} | "
                 f"{sum(log['page_switches'] for log in logs)} |")
    mem = figures["memory_mb"]
    lines += ["", "| memory (RSS, MB) | server | workers |", "|---|---:|---:|"]
    for label, key in (("at start", "start"), ("after warm-up", "after_warmup"),
                       ("after the first tenth of the runs", "after_tenth"), ("at the end", "end")):
        if mem[key] is not None:
            lines.append(f"| {label} | {mem[key][0]:.0f} | {mem[key][1]:.0f} |")
    lines += ["", "| goal | measured | met |", "|---|---:|---|"]
    lines += [f"| {goal} | {value} | {'yes' if ok else 'NO'} |" for goal, (value, ok) in verdict(figures).items()]
    problems = [f"{log['name']}: {text}" for log in logs for text in log["failed"] + log["page_errors"]]
    problems += [f"server log: {line}" for line in figures["server_errors"]]
    if problems:
        lines += ["", "What went wrong (first 20):", *[f"- {p}" for p in problems[:20]]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=None, help="each session does this many 30-step runs instead")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds after each session's first run before the 'after warm-up' memory "
                             "(default: a fifth of the time, at most 60)")
    parser.add_argument("--max-steps", type=int, default=STEPS[1], help="the longest run's steps (at least 30)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else min(60.0, 12 * args.minutes)
    figures = soak(args.sessions, args.minutes, args.runs, warmup, args.max_steps)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if all(ok for _, ok in verdict(figures).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
