"""The real app in a real browser: `streamlit run app.py` on a free loopback port, driven by Playwright in Debian's
headless Chromium (`make chromium` installs it; the tests skip without it).

`ALMA_SCREENSHOT=docs/screenshot.png pytest -m browser tests/app/test_browser.py` also saves the screenshot of the
result there (a path relative to the repository root), for the README.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alma.samples import draw_digit
from ui.images import image_png

from .conftest import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 60_000
SHARED_DATA = REPO.parent / "shared" / "data"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "streamlit exited"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer at {url} in {timeout} s")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of `streamlit run app.py`, started for these tests and always killed after them."""
    if not CHROMIUM.is_file():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (make chromium)")
    env = dict(os.environ)
    if "ALMA_WEIGHTS_DIR" not in env and (SHARED_DATA / "MANIFEST.md").is_file():
        env["ALMA_WEIGHTS_DIR"] = str(SHARED_DATA)
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                   "--server.port", str(port), "--server.address", "127.0.0.1"],
                                  cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, server)
        yield url
    finally:
        server.kill()
        server.wait(timeout=30)


@pytest.fixture
def page(app_url: str) -> Iterator[Page]:
    """A fresh browser session on the main page, once it has drawn the sample's prediction."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(app_url)
            page.get_by_test_id("stMain").get_by_text("The model predicts").wait_for()
            _idle(page)
            yield page
        finally:
            browser.close()


def _idle(page: Page) -> None:
    """Waits for the script run to end and its stale elements to go (the next click must hit the current page)."""
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget], [data-stale=true]')")


def _set_steps(page: Page, steps: int) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("radio", name="custom").click()
    box = sidebar.get_by_label("Custom number of steps")
    box.fill(str(steps))
    box.press("Enter")
    _idle(page)


def _metric(page: Page, label: str) -> str:
    metric = page.get_by_test_id("stMain").get_by_test_id("stMetric").filter(has_text=label)
    return metric.get_by_test_id("stMetricValue").inner_text()


DRAWN = ("Array.from(document.querySelectorAll('[data-testid=stMain] .alma-live'))"
         ".some(r => Number(r.dataset.redraws) > 0 && r.querySelectorAll('.uplot canvas').length >= 6)")
"""The main page's six live charts are drawn."""


def _live_charts(page: Page) -> tuple[int, int]:
    """How many of the main page's live charts are shown, drawn, and how many chart nodes are new since the last call
    (charts that the browser mounted again)."""
    return tuple(page.evaluate("""() => {
        const charts = Array.from(document.querySelectorAll('[data-testid=stMain] .alma-live .uplot'));
        let mounted = 0;
        for (const chart of charts) { if (!chart.dataset.seen) { chart.dataset.seen = 'yes'; mounted++; } }
        const shown = charts.filter(c => c.offsetHeight > 0 && c.querySelector('canvas').width > 0
                                         && Number(c.closest('.alma-live').dataset.redraws) > 0);
        return [shown.length, mounted];
    }"""))


def _cut_off_metrics(page: Page) -> list[str]:
    """The metric values of the main page that do not fit their box (shown with an ellipsis)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll(
            '[data-testid=stMain] [data-testid=stMetricValue]'))
        .filter(v => [v, ...v.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))
        .map(v => v.innerText)""")


def _bare_log_tick_labels(page: Page) -> tuple[list[str], int]:
    """Tick labels of log y axes that read as a number other than the tick's value (Plotly's default labels the
    minor ticks of 0.01…0.1 with a bare "2", "5"), in Plotly figures and in the live charts (uPlot), and how many
    labels were checked."""
    return page.evaluate("""() => {
        const bare = (text, value) => /^[0-9.]+$/.test(text) && Math.abs(value - Number(text)) > 1e-6 * Number(text);
        const plotly = Array.from(document.querySelectorAll('[data-testid=stMain] .js-plotly-plot'))
            .filter(gd => gd._fullLayout && gd._fullLayout.yaxis.type === 'log')
            .flatMap(gd => (gd._fullLayout.yaxis._vals || []).map(v => [v.text, Math.pow(10, v.x)]));
        const live = Array.from(document.querySelectorAll('[data-testid=stMain] .alma-live-chart'))
            .map(cell => cell.plot).filter(u => u && u.scales.y.distr === 3)
            .flatMap(u => (u.axes[1]._splits || []).map((v, i) => [String(u.axes[1]._values[i]), v]));
        const labels = plotly.concat(live).filter(([text]) => text !== '');
        return [labels.filter(([text, value]) => bare(text, value)).map(([t, v]) => `${t} at ${v}`), labels.length];
    }""")


def _screenshot(page: Page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the viewport grows to the content first."""
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    page.wait_for_timeout(1000)  # charts re-layout to the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def test_upload_run_and_screenshot(page: Page, tmp_path: Path) -> None:
    main = page.get_by_test_id("stMain")
    main.get_by_role("radio", name="Upload").click()
    uploader = main.get_by_test_id("stFileUploader")
    (tmp_path / "notes.txt").write_text("not an image")
    with page.expect_file_chooser() as chooser:
        uploader.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(tmp_path / "notes.txt")
    uploader.get_by_text("files are not allowed").wait_for()  # the browser refuses it; the app never sees it
    uploader.get_by_role("button", name="Remove notes.txt").click()

    digit = tmp_path / "three.png"
    digit.write_bytes(image_png(1 - draw_digit(3), enlarge=False))  # dark on white, as on paper
    with page.expect_file_chooser() as chooser:
        uploader.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(digit)
    main.get_by_text("The model predicts 3").wait_for()
    _set_steps(page, 100)

    main.get_by_role("button", name="Run attack").click()
    main.get_by_text("Adversarial found").wait_for()
    assert main.get_by_text(re.compile(r"upload \(sha256 .*\) · 100 steps")).count() == 1
    assert _metric(page, "Original prediction") == "3"
    assert _metric(page, "Adversarial prediction") not in ("3", "")
    page.wait_for_function(DRAWN)
    assert main.get_by_test_id("stException").count() == 0
    main.get_by_text("Iterate at step 99").wait_for()  # the scrubber starts at the last step
    assert _cut_off_metrics(page) == [], "every metric must be readable at 1400 px"
    bare, checked = _bare_log_tick_labels(page)
    assert checked >= 8 and bare == [], "log axes label their values (2×10⁻³), never a bare minor digit"

    chart = page.locator("[data-testid=stMain] .alma-live .uplot").first.locator(".u-over")
    box = chart.bounding_box()
    chart.click(position={"x": box["width"] * 0.3, "y": box["height"] / 2})  # a click on a chart moves the scrubber
    clicked = main.get_by_text(re.compile(r"^Iterate at step (\d+)$"))
    page.wait_for_function("Array.from(document.querySelectorAll('[data-testid=stMain] [data-testid=stImageCaption]'))"
                           ".some(c => /^Iterate at step (\\d|[1-8]\\d)$/.test(c.innerText))")
    assert clicked.count() == 1

    _screenshot(page, tmp_path / "explorer.png")
    assert (tmp_path / "explorer.png").stat().st_size > 50_000
    if target := os.environ.get("ALMA_SCREENSHOT"):
        _screenshot(page, REPO / target)


def test_pause_resume_and_stop_a_running_attack(page: Page) -> None:
    main = page.get_by_test_id("stMain")
    _set_steps(page, 100_000)
    main.get_by_role("button", name="Run attack").click()
    progress = main.get_by_test_id("stProgress")
    progress.get_by_text(re.compile(r"running · step [1-9]")).wait_for()
    page.wait_for_function(DRAWN)
    _live_charts(page)
    started_at = progress.inner_text()
    drawn = page.locator(".alma-live")
    steps_before = int(drawn.get_attribute("data-steps"))
    samples = [(page.wait_for_timeout(100), _live_charts(page))[1] for _ in range(20)]
    assert samples == [(6, 0)] * 20, "(charts shown, charts mounted again): the live charts must update in place"
    assert progress.inner_text() != started_at, "the live view must follow the attack"
    assert int(drawn.get_attribute("data-steps")) > steps_before, "the live charts must grow"

    main.get_by_role("button", name="Pause").click()
    progress.get_by_text("paused").wait_for()
    paused_at = progress.inner_text()
    page.wait_for_timeout(1000)
    assert progress.inner_text() == paused_at, "a paused attack must not advance"

    main.get_by_role("button", name="Resume").click()
    progress.get_by_text("running").wait_for()
    started = time.monotonic()
    main.get_by_role("button", name="Stop").click()
    main.get_by_text(re.compile(r"stopped after \d+ of 100000 steps")).wait_for(timeout=10_000)
    assert time.monotonic() - started < 10  # measured: about 3 s on 2 busy cores, the attack itself stops at once
    assert main.get_by_test_id("stException").count() == 0


def _metric_exact(page: Page, label: str) -> str:
    main = page.get_by_test_id("stMain")
    metric = main.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label,
                                                                                                         exact=True))
    return metric.get_by_test_id("stMetricValue").inner_text()


@pytest.mark.slow
def test_a_reload_and_a_link_with_the_run_in_the_url_show_the_same_result(page: Page, app_url: str) -> None:
    main = page.get_by_test_id("stMain")
    _set_steps(page, 30)
    main.get_by_role("button", name="Run attack").click()
    main.get_by_text("Adversarial found").wait_for()
    page.wait_for_url(re.compile(r"[?&]run=[0-9a-f]{32}"))
    url, labels = page.url, ("ℓ2", "CIEDE2000", "Adversarial prediction", "First adversarial step")
    run_id = re.search(r"run=([0-9a-f]{32})", url)[1]
    shown = [_metric_exact(page, label) for label in labels]

    page.reload()  # a new session: the settings and the run come back from the URL and the library
    main.get_by_text("Adversarial found").wait_for()
    assert page.url == url
    assert [_metric_exact(page, label) for label in labels] == shown
    main.get_by_text("Iterate at step 29").wait_for()
    assert page.get_by_test_id("stSidebar").get_by_label("Custom number of steps").input_value() == "30"

    page.goto(f"{app_url}/Runs?run={run_id}")  # the Runs page, opened by a link
    main.get_by_text("Adversarial found").wait_for()
    assert [_metric_exact(page, label) for label in labels] == shown
    assert main.get_by_test_id("stException").count() == 0


# --- offline: no page asks for anything outside the loopback server ----------------------------------------------

PAGES = ("EMA on/off", "Penalty functions", "Learning rate", "How ALMA works", "Compare attacks", "Geometry",
         "Attack explorer")


@pytest.mark.slow
def test_no_page_requests_anything_outside_the_server(app_url: str) -> None:
    """Every request that leaves 127.0.0.1 is blocked and recorded: the app must work fully offline."""
    sync_api = pytest.importorskip("playwright.sync_api")
    outside: list[str] = []

    def guard(route) -> None:
        host = urllib.parse.urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("blockedbyclient")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.route("**/*", guard)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
            page.goto(app_url)
            page.get_by_test_id("stMain").get_by_text("The model predicts").wait_for()
            for title in PAGES:
                page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
                page.wait_for_url(re.compile(r"/[A-Za-z_]*$"))
                page.get_by_test_id("stMain").get_by_role("heading", name=re.compile(".")).first.wait_for()
                _idle(page)
        finally:
            browser.close()
    assert outside == [], f"requests outside the server: {outside}"
    assert not [f for f in failed if "blockedbyclient" in f.lower()], failed


# --- the server enforces the upload limit and XSRF protection, not only the browser --------------------------------

def test_the_server_refuses_uploads_without_the_xsrf_token_or_over_the_limit(app_url: str) -> None:
    """A session's real XSRF cookie and id (read from the page and its websocket), then raw PUTs to the upload
    endpoint: without the token 403, over `server.maxUploadSize` 413, before any byte of the body is read."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from streamlit import config
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    config.get_config_options(force_reparse=True)  # this repository's .streamlit/config.toml (cwd: the repo)
    limit = int(config.get_option("server.maxUploadSize")) * 2**20
    assert config.get_option("server.enableXsrfProtection") is True
    session_ids: list[str] = []

    def frames(socket) -> None:
        def read(payload) -> None:
            if isinstance(payload, bytes):
                message = ForwardMsg.FromString(payload)
                if message.WhichOneof("type") == "new_session":
                    session_ids.append(message.new_session.initialize.session_id)
        socket.on("framereceived", read)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("websocket", frames)
            page.goto(app_url)
            page.get_by_test_id("stMain").get_by_text("The model predicts").wait_for(timeout=TIMEOUT_MS)
            token = next(c["value"] for c in page.context.cookies() if c["name"] == "_streamlit_xsrf")
            put = """async ([url, token, size]) => (await fetch(url, {method: 'PUT',
                body: new Blob([new Uint8Array(size)]), headers: token ? {'X-Xsrftoken': token} : {},
                credentials: 'same-origin'})).status"""
            url = f"{app_url}/_stcore/upload_file/{session_ids[0]}/limit-check"
            without_token = page.evaluate(put, [url, "", 10])
            over_limit = page.evaluate(put, [url, token, limit + 2 * 2**20])
        finally:
            browser.close()
    assert session_ids, "the page's websocket sent no session id"
    assert without_token == 403
    assert over_limit == 413
