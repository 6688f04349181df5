"""The app as bench/live.py drives it: `streamlit run app.py` in its own process group, and browser sessions that load
a run config, press Run or Stop, and time what the page shows.

The timings come from a recorder script in the page (`RECORDER_JS`), which samples the page every `SAMPLE_MS`
milliseconds and stamps the click itself, so they do not include Playwright's round trips. It reads:
- the live view, `.alma-live` (its `data-steps` and `data-redraws`), in the page or in a same-origin iframe; without
  it, the first drawn line of an older live chart (`.alma-live-chart`), and no redraw count;
- the Run button (`.st-key-run button`; of several with the key, the one not stale): disabled while a run is active;
- the result alert ("Adversarial found" / "No adversarial found", "stopped after N of M steps");
- the progress line (`st.progress`), kept as a log: it tells whether a run waited in line for its device.
A run has started once Run is disabled or a progress line shows, and has its result once Run is enabled again beside
a result alert that was not there when the click was armed.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 900}
SAMPLE_MS = 20
LOST_CLICK_S = 10.0
"""A click after which the page stays idle with Run enabled this long started no run."""
RUN_KEY, STOP_KEY, CONFIG_KEY = "run", "explorer_run_stop", "config_file"

RECORDER_JS = """
(() => {
  if (window.__almaBench) return;
  const now = () => performance.timeOrigin + performance.now();
  const main = () => document.querySelector('[data-testid=stMain]') || document.body;
  const fresh = el => !el.closest('[data-stale=true]');
  const live = () => {
    let el = document.querySelector('.alma-live');
    for (const frame of el ? [] : document.querySelectorAll('iframe')) {
      try { el = frame.contentDocument && frame.contentDocument.querySelector('.alma-live'); } catch (e) { el = null; }
      if (el) break;
    }
    return el;
  };
  const legacyLine = () => Array.from(main().querySelectorAll('.alma-live-chart .scatterlayer path.js-line'))
    .some(p => /L/.test(p.getAttribute('d') || ''));
  const button = (key, enabled) => {
    const buttons = Array.from(document.querySelectorAll(`.st-key-${key} button`));
    const current = buttons.filter(fresh);
    const found = (current.length ? current : buttons).filter(b => !enabled || !b.disabled);
    return found.length ? found[0] : null;
  };
  const resultAlert = () => Array.from(main().querySelectorAll('[data-testid=stAlert]'))
    .find(a => fresh(a) && /(Adversarial found|No adversarial found)/.test(a.innerText || '')) || null;
  const result = () => { const alert = resultAlert(); return alert ? alert.innerText : null; };
  const progress = () => {
    const bar = Array.from(main().querySelectorAll('[data-testid=stProgress]')).find(fresh);
    return bar ? bar.innerText : null;
  };
  const view = () => {
    const run = button('run'), el = live();
    return {run: run ? (!fresh(run) ? 'stale' : run.disabled ? 'disabled' : 'enabled') : null, live: !!el,
            steps: el ? Number(el.dataset.steps || 0) : null, redraws: el ? Number(el.dataset.redraws || 0) : null,
            legacyLine: legacyLine(), result: result(), progress: progress(),
            exception: !!main().querySelector('[data-testid=stException]'),
            idle: !document.querySelector('[data-testid=stStatusWidget], [data-stale=true]')};
  };
  let s = null;
  window.__almaBench = {
    view,
    button,
    state: () => s,
    arm(key) {
      const el = live();
      s = {key, click: key === null ? now() : null, running: null, ended: null, firstLine: null, result: null,
           resultText: null,
           error: null, node: el, redraws: el ? Number(el.dataset.redraws || 0) : 0, total: 0, redrawLog: [],
           sawLive: false, legacyBefore: legacyLine(), legacyGone: false, progress: [], oldAlert: resultAlert(),
           alertGone: false};
    },
  };
  window.addEventListener('click', e => {
    if (s && s.click === null && e.target.closest && e.target.closest(`.st-key-${s.key}`)) s.click = now();
  }, true);
  setInterval(() => {
    if (!s || s.click === null || s.result !== null || s.error !== null) return;  // (s.ended: a result may follow)
    const t = now(), v = view(), el = live();
    if (el) {
      s.sawLive = true;
      const redraws = Number(el.dataset.redraws || 0);
      const more = el === s.node ? Math.max(0, redraws - s.redraws) : redraws;
      s.node = el; s.redraws = redraws;
      if (more > 0) { s.total += more; s.redrawLog.push([t, s.total]); }
      if (s.firstLine === null && s.total > 0 && v.steps >= 1) s.firstLine = t;
    } else if (s.firstLine === null) {
      if (!v.legacyLine) s.legacyGone = true;
      else if (!s.legacyBefore || s.legacyGone) s.firstLine = t;
    }
    if (v.progress !== null && (s.progress.length === 0 || s.progress[s.progress.length - 1][1] !== v.progress)
        && s.progress.length < 2000) s.progress.push([t, v.progress]);
    const alert = resultAlert();
    if (alert === null || alert !== s.oldAlert) s.alertGone = true;
    if (s.running === null && (v.run === 'disabled' || v.progress !== null)) s.running = t;
    if (s.running !== null && s.ended === null && v.run === 'enabled') s.ended = t;
    if (s.running !== null && s.alertGone && v.run === 'enabled' && alert !== null) {
      s.result = t; s.resultText = alert.innerText;
    }
    if (v.exception) s.error = 'the page shows an exception';
  }, SAMPLE_MS);
})();
""".replace("SAMPLE_MS", str(SAMPLE_MS))

STATE_DONE = "(s => s && (s.result !== null || s.error !== null))(window.__almaBench.state())"
PANEL_RATE = re.compile(r"(\d+) steps in ([\d.]+) s \(([\d.]+) steps/s\)")
"""The caption under "Last run" (since the live view's rewrite); before it, the "Wall time" and "Steps run" metrics."""
METRIC_WALL = re.compile(r"Wall time\s+([\d.]+) s \(")
METRIC_STEPS = re.compile(r"Steps run\s+(\d+)")
PANEL_JS = r"\d+ steps in [\d.]+ s \(|Wall time\s+[\d.]+ s \("
STOPPED = re.compile(r"stopped after (\d+) of (\d+) steps")
QUEUED = re.compile(r"waiting|in line", re.IGNORECASE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`streamlit run app.py` on a loopback port, in a new session: `stop` ends it and every process it started."""

    def __init__(self, port: int, log: Path) -> None:
        streamlit = REPO / ".venv" / "bin" / "streamlit"
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                [str(streamlit), "run", "app.py", "--server.headless", "true", "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self._process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        return
            except OSError:
                time.sleep(0.25)
        raise TimeoutError(f"streamlit did not answer at {self.url} in {timeout_s:.0f} s; see {self.log}")

    def _members(self) -> list[int]:
        """Processes of the server's session (its workers included, also those that left its process group)."""
        members = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getsid(int(entry.name)) == self._process.pid:
                        members.append(int(entry.name))
                except (ProcessLookupError, PermissionError):
                    continue
        return members

    def _living(self) -> list[int]:
        self._process.poll()  # reaps the server once it has exited
        return [pid for pid in self._members() if _state(pid) not in ("Z", "")]

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM to every process of the server's session, then SIGKILL to those still there after `grace_s`."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self._living():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace_s
            while self._living() and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self._living():
                return


def _state(pid: int) -> str:
    """A process's state letter ("Z": a zombie), "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    except (OSError, IndexError):
        return ""


@dataclass(frozen=True)
class Run:
    """One timed click, in seconds since the epoch (from the page's clock); None where the page did not show it."""

    click: float
    running: float | None
    first_line: float | None
    result: float
    result_text: str
    redraws_per_s: float | None
    live_view: str
    """"alma-live", "legacy" (older live charts: no redraw count) or "none"."""
    steps: int | None
    """Steps run, as the page says (result panel); None when it does not."""
    wall_s: float | None
    """The run's own wall time as the result panel shows it; None when it does not."""
    progress: tuple[tuple[float, str], ...]
    lost_clicks: int = 0
    """Clicks that started no run and were repeated (see `Session.collect`)."""

    @property
    def queued(self) -> bool:
        """The progress line said the run waited for its device (another session's run was on it)."""
        return any(QUEUED.search(text) for _, text in self.progress)

    @property
    def seconds(self) -> float:
        return self.result - self.click

    @property
    def first_line_s(self) -> float | None:
        return None if self.first_line is None else self.first_line - self.click


def _run_from_state(state: dict[str, Any]) -> Run:
    click, result = state["click"] / 1e3, state["result"] / 1e3
    first = state["firstLine"] / 1e3 if state["firstLine"] is not None else None
    redraws_per_s = None
    if state["sawLive"] and first is not None and result > first:
        during = [total for t, total in state["redrawLog"] if first * 1e3 < t <= state["result"]]
        at_first = max([total for t, total in state["redrawLog"] if t <= first * 1e3], default=0)
        redraws_per_s = (max(during, default=at_first) - at_first) / (result - first)
    kind = "alma-live" if state["sawLive"] else "legacy" if first is not None else "none"
    return Run(click=click, running=state["running"] / 1e3 if state["running"] is not None else None,
               first_line=first, result=result, result_text=state["resultText"], redraws_per_s=redraws_per_s,
               live_view=kind, steps=None, wall_s=None,
               progress=tuple((t / 1e3, text) for t, text in state["progress"]))


class Session:
    """One browser context (its own Streamlit session) on the app's main page.

    Every wait follows an armed recorder: `arm` (before a click or an upload) remembers the page as it was, and a
    result counts once a run was seen active after it (Run disabled, or a progress bar) and a result alert other than
    the one shown at `arm` is there beside an enabled Run button."""

    def __init__(self, browser: Browser, url: str, timeout_s: float) -> None:
        self.context: BrowserContext = browser.new_context(viewport=VIEWPORT)
        self.context.add_init_script(script=RECORDER_JS)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.goto(url, timeout=timeout_s * 1e3)
        self.wait("window.__almaBench && window.__almaBench.view().run === 'enabled'", timeout_s,
                  "the page to show an enabled Run button")
        self.idle()

    def close(self) -> None:
        self.context.close()

    def view(self) -> dict[str, Any]:
        return self.page.evaluate("window.__almaBench.view()")

    def wait(self, condition: str, timeout_s: float, what: str) -> None:
        """Waits for a JS expression (or an exception on the page, which raises); on timeout, says what it waited
        for and what the page showed."""
        try:
            self.page.wait_for_function(f"() => ({condition}) || window.__almaBench.view().exception",
                                        timeout=timeout_s * 1e3, polling=50)
        except PlaywrightTimeout:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}; the page: {self.view()}") from None
        if self.view()["exception"]:
            error = self.page.get_by_test_id("stException").first.inner_text()
            raise RuntimeError(f"the page shows an exception while waiting for {what}: {error[:600]}")

    def idle(self, timeout_s: float = 30.0) -> None:
        """Waits (bounded, without failing) until no script run is in progress and no element is stale."""
        try:
            self.page.wait_for_function("() => window.__almaBench.view().idle", timeout=timeout_s * 1e3, polling=50)
        except PlaywrightTimeout:
            pass

    def arm(self, key: str | None) -> None:
        """Start recording at the next click on the element with `key`; None: at once (before an upload)."""
        self.page.evaluate("key => window.__almaBench.arm(key)", key)

    def click(self, key: str, timeout_s: float = 10.0) -> None:
        """Clicks the enabled button with `key` (the current one, where a stale copy is still there) as soon as there
        is one: found and clicked in one step in the page, so that React cannot replace it in between."""
        try:
            self.page.wait_for_function("key => { const b = window.__almaBench.button(key, true); "
                                        "if (b) b.click(); return !!b; }", arg=key, timeout=timeout_s * 1e3,
                                        polling=50)
        except PlaywrightTimeout:
            raise TimeoutError(f"no enabled button with key {key!r} in {timeout_s:.0f} s") from None

    def load_config(self, config_json: str, timeout_s: float) -> None:
        """Uploads a run config, which sets every widget and starts its run; waits until that run is active."""
        uploader = self.page.locator(f".st-key-{CONFIG_KEY} input[type=file]")
        if uploader.count() == 0:
            uploader = (self.page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader")
                        .filter(has_text="run config").locator("input[type=file]"))
        self.arm(None)
        uploader.set_input_files({"name": "bench_config.json", "mimeType": "application/json",
                                  "buffer": config_json.encode()})
        self.wait("window.__almaBench.state().running !== null", timeout_s, "the loaded config's run to start")

    def wait_first_line(self, timeout_s: float) -> None:
        self.wait("(v => (v.live && v.steps >= 1) || v.legacyLine)(window.__almaBench.view())", timeout_s,
                  "the running attack's first chart line")

    def stop_and_settle(self, timeout_s: float) -> None:
        """After `load_config`: presses Stop (unless the run has ended) and waits until the run is over (a run
        stopped before it started shows no result)."""
        try:
            self.click(STOP_KEY, timeout_s=5.0)
        except TimeoutError:
            pass  # the run ended before Stop could be pressed
        self.wait("(s => s.ended !== null || s.result !== null)(window.__almaBench.state())", timeout_s,
                  "the run to end")
        self.idle()

    def ready(self, timeout_s: float = 60.0) -> None:
        """Waits until the page is idle with an enabled Run button (a click then starts a run)."""
        self.wait("(v => v.idle && v.run === 'enabled')(window.__almaBench.view())", timeout_s,
                  "an idle page with an enabled Run button")

    def collect(self, timeout_s: float, start_timeout_s: float = 60.0) -> Run:
        """Waits for the armed run to start, then for its result, and reads it with the result panel's steps and
        wall time. A click that started nothing (the page idle, Run enabled, for `LOST_CLICK_S`) is repeated once,
        as a user would; the run is still timed from the first click, and counts it in `lost_clicks`."""
        started = "(s => s.running !== null || s.error !== null)(window.__almaBench.state())"
        lost = (f"(s => s.click !== null && s.running === null && performance.timeOrigin + performance.now() - "
                f"s.click > {LOST_CLICK_S * 1e3} && (v => v.idle && v.run === 'enabled')(window.__almaBench.view()))"
                "(window.__almaBench.state())")
        lost_clicks = 0
        self.wait(f"{started} || {lost}", start_timeout_s, "the run to start")
        if self.page.evaluate(f"!({started}) && ({lost})"):
            lost_clicks = 1
            self.click(self.page.evaluate("window.__almaBench.state().key"))
            self.wait(started, start_timeout_s, "the run to start after a second click")
        self.wait(STATE_DONE, timeout_s, "the run's result")
        state = self.page.evaluate("window.__almaBench.state()")
        if state["error"] is not None or state["click"] is None:
            raise RuntimeError(state["error"] or "the click did not reach the page")
        run = _run_from_state(state)
        try:  # the result panel comes after the alert
            self.page.wait_for_function(f"() => /{PANEL_JS}/.test(document.querySelector('[data-testid=stMain]')"
                                        ".innerText)", timeout=10_000, polling=100)
        except PlaywrightTimeout:
            pass
        text = self.page.get_by_test_id("stMain").inner_text()
        steps = wall = None
        if match := PANEL_RATE.search(text):
            steps, wall = int(match[1]), float(match[2])
        elif (wall_match := METRIC_WALL.search(text)) and (steps_match := METRIC_STEPS.search(text)):
            steps, wall = int(steps_match[1]), float(wall_match[1])
        return replace(run, steps=steps, wall_s=wall, lost_clicks=lost_clicks)

    def press(self, key: str, timeout_s: float) -> Run:
        if key == RUN_KEY:
            self.ready()
        self.arm(key)
        self.click(key)
        return self.collect(timeout_s)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium (as tests/app/test_browser.py launches it), closed on leaving."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()
