"""The "Compare attacks" page, driven headless: a tiny comparison shows its table, curves and adversarials."""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from alma.compare import ATTACKS, AttackSpec
from alma.models import DEFAULT_MODEL
from ui.comparison import CompareTask
from ui.jobs import WorkerContext, codec
from ui.jobs.control import Control
from ui.jobs.worker import _Models

pytest.importorskip("adv_lib")
AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "pages" / "5_Compare_attacks.py"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.syspath_prepend(str(REPO))  # the page imports `ui`
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def run(at: AppTest, attacks: list[str], inputs: str = "One image", budget: str = "10") -> AppTest:
    at.multiselect(key="cmp_attacks").set_value(attacks)
    at.segmented_control(key="cmp_budget").set_value(budget)
    at.segmented_control(key="cmp_inputs").set_value(inputs)
    at.run()
    at.button(key="cmp_run").click().run()
    assert not at.exception
    return at


def follow(at: AppTest, until: Callable[[AppTest], bool], timeout: float = 120) -> AppTest:
    """Reruns the page (as its live view's timer would) until `until(at)`."""
    deadline = time.monotonic() + timeout
    while not until(at):
        assert not at.exception, at.exception
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
        at.run()
    return at


def ended(at: AppTest) -> bool:
    return "cmp_job" not in at.session_state


def test_one_image(page: AppTest) -> None:
    at = follow(run(page, ["alma-l2", "ddn"]), ended)
    assert not at.error
    table = at.dataframe[0].value
    assert table["attack"].tolist() == ["ALMA ℓ2 (ours)", "DDN"]
    assert table["forwards / sample"].tolist() == [10, 10] and table["success"].isin(["yes", "no"]).all()
    captions = [caption for image in at.image for caption in image.captions]
    assert any(c.startswith("original") for c in captions)
    assert any(c.startswith("ALMA ℓ2 (ours): ") for c in captions) and any(c.startswith("DDN: ") for c in captions)
    charts = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert len(charts) == 2 and "Best distance found against the queries spent" in charts[1]


def test_every_sample(page: AppTest) -> None:
    at = follow(run(page, ["alma-l1"], "Every sample"), ended)
    assert not at.error
    assert at.dataframe[0].value["success"].str.endswith("%").all()
    assert len(at.selectbox(key="cmp_shown").options) == 10  # the ten drawn digits


def test_progress_within_an_attack_and_stop(page: AppTest) -> None:
    """C&W runs 9 × 10N iterations: the page shows its forwards as they go, the finished attack's row, and Stop ends
    the running attack at once."""
    at = run(page, ["alma-l2", "cw-l2"], budget="100")
    progress = lambda at: at.get("progress")[0].proto.text if at.get("progress") else ""  # noqa: E731
    follow(at, lambda at: "C&W" in progress(at) and " 0 of " not in progress(at))
    assert "attack 2 of 2: C&W ℓ2" in progress(at) and "forwards per sample" in progress(at)
    assert at.dataframe[0].value["attack"].tolist() == ["ALMA ℓ2 (ours)"], "finished attacks show at once"
    at.button(key="cmp_job_stop").click().run()
    began = time.monotonic()
    follow(at, ended, timeout=30)
    assert time.monotonic() - began < 10
    assert any("stopped" in c.value for c in at.caption)
    assert at.dataframe[0].value["attack"].tolist() == ["ALMA ℓ2 (ours)"]


def test_a_failing_attack_is_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's task, run in this process with a real worker context: one failing attack is a message, the others
    still run, and each attack's progress and finished runs are sent to the page."""
    def broken(model, inputs, labels, budget):
        raise RuntimeError("boom")

    monkeypatch.setitem(ATTACKS, "ddn", AttackSpec("ddn", "DDN", "l2", broken, "N"))
    spawn = multiprocessing.get_context("spawn")
    theirs, ours = spawn.Pipe()
    control = Control(spawn)
    control.reset()
    context = WorkerContext(theirs, control, _Models(), "cpu")
    images = torch.rand(2, 1, 28, 28)
    result = CompareTask(DEFAULT_MODEL, images, ("alma-l2", "ddn", "fmn-l2"), 10)(context)
    assert [run.attack for run in result.runs] == ["alma-l2", "fmn-l2"]
    for run, curve in zip(result.runs, result.curves):  # 10 steps: 20 queries, the last one a backward
        assert curve.queries[-1] == 20 and curve.best.shape == (2, len(curve.queries))
        assert (run.best.numpy() <= curve.best[:, -1]).all() and (run.best <= run.distances).all()
    np.testing.assert_allclose(result.curves[0].best[:, -1], result.runs[0].best.numpy(), rtol=1e-5)  # ALMA's result
    assert len(result.errors) == 1 and "DDN" in result.errors[0] and "boom" in result.errors[0]
    messages = []
    while ours.poll():
        messages.append(codec.loads(ours.recv_bytes()))
    assert ("progress", "alma-l2", 10, 10) in messages
    published = [m[2] for m in messages if m[0] == "publish"]
    assert [len(runs) for runs, _ in published] == [1, 1, 2]
