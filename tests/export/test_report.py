"""The HTML report of real runs: self-contained, user-chosen names shown as text, every chart drawn in a browser
with no network request."""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs
from torch import Tensor, nn

from ui.export import html_report
from ui.outcome import RunOutcome

from .conftest import explorer_run

XSS = "<img src=x onerror=alert(1)>"
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def runs(model: nn.Module, digit: Tensor) -> dict[str, RunOutcome]:
    """The EMA on/off page's pair: the same digit with α = 0 and α = 0.9."""
    return {"α = 0": explorer_run(model, digit, 30, alpha=0.0), XSS: explorer_run(model, digit, 30, alpha=0.9)}


def _geometry() -> go.Figure:
    grid = np.linspace(-1, 1, 21)
    return go.Figure([go.Contour(x=grid, y=grid, z=np.add.outer(grid ** 2, grid)),
                      go.Scatter(x=[0, 0.3, 0.5], y=[0, 0.2, 0.6], mode="lines+markers", name="iterates")])


def test_one_run(runs: dict[str, RunOutcome]) -> None:
    outcome = runs["α = 0"]
    page = html_report({"α = 0": outcome}, title="One run")
    assert page.count(get_plotlyjs()) == 1
    assert page.count("Plotly.newPlot(") == 6 and page.count('id="chart-') == 6
    assert len(re.findall(r'<img alt="[^"]*" src="data:image/png;base64,', page)) == 4
    assert re.search(r"(src|href)=[\"']?(https?:)?//", page.replace(get_plotlyjs(), "")) is None
    assert f"{outcome.distance:.4g}" in page and html.escape(outcome.config.to_json()) in page


def test_user_names_are_text(runs: dict[str, RunOutcome]) -> None:
    page = html_report(runs, title=f"report {XSS}", class_names=[XSS] * 10, geometry=_geometry())
    assert XSS not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 4  # title, heading, table header, class names
    assert page.count("Plotly.newPlot(") == 7
    with pytest.raises(ValueError):
        html_report({})


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (make chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
def test_report_opens_offline_with_every_chart_drawn(runs: dict[str, RunOutcome], browser, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(html_report(runs, title=f"EMA {XSS}", class_names=[XSS] * 10, geometry=_geometry()),
                    encoding="utf-8")
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    requests, dialogs, errors = [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.plotly-graph-div .main-svg').length >= 7")
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(div =>
        [div.id, div.querySelectorAll('svg.main-svg .trace').length])""")
    assert [name for name, _ in drawn] == ["chart-distance", "chart-constraint", "chart-mu", "chart-rho", "chart-lr",
                                           "chart-grad-norm", "chart-geometry"]
    assert all(traces > 0 for _, traces in drawn), drawn
    images = page.evaluate("() => Array.from(document.images).map(i => [i.src.slice(0, 22), i.naturalWidth])")
    assert len(images) == 8 and all(src == "data:image/png;base64," and width > 0 for src, width in images)
    assert [url for url in requests if url != path.as_uri() and not url.startswith("data:")] == []
    assert dialogs == [] and errors == []
    assert page.locator("h3", has_text=XSS).count() == 2  # images and config sections
    assert page.title() == f"EMA {XSS}"
    legend = page.evaluate("() => Array.from(document.querySelectorAll('#chart-mu .legendtext'), t => t.textContent)")
    assert legend == ["μ (α = 0)", f"μ ({XSS})"]
