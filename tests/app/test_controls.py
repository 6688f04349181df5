"""Stop, Step K and Resume on the main page. AppTest cannot click on a timer, so the job starts paused (as if Pause
had been clicked at once) and the tests rerun the page as the live view's timer would; the browser test pauses and
stops a running attack."""
from __future__ import annotations

import json
from functools import partial

import pytest
from streamlit.testing.v1 import AppTest

from ui.runner import Job, Phase, device_lock

from .conftest import explorer, finish, metrics, rerun_until, values

RUN_KEY = "explorer_run"
STEPS = 300
"""Long enough for the live view to redraw several times after Resume (about 200 steps/s here)."""
CHARTS = ("distance_chart", "constraint_chart", "mu_chart", "rho_chart", "lr_chart", "grad_norm_chart")


def _job(at: AppTest) -> Job:
    return at.session_state[RUN_KEY].job


def _paused(at: AppTest) -> bool:
    return _job(at).phase is Phase.PAUSED


def _live_charts(at: AppTest) -> list[tuple[str, dict]]:
    """The live view's charts: element id and Plotly figure of each."""
    return [(chart.proto.id, json.loads(json.loads(chart.proto.json)["figure"]))
            for chart in at.get("bidi_component") if chart.proto.component_name == "alma_live_chart"]


@pytest.fixture
def paused(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The main page after Run, its attack paused after its first step."""
    monkeypatch.setattr("ui.live.Job", partial(Job, start_paused=True))
    at = explorer(steps=STEPS)
    at.button(key="run").click().run()
    rerun_until(at, _paused, "the pause after the first step")
    assert _job(at).snapshot().steps == 1
    at.run()  # the page draws the job as paused
    assert f"paused · step 1 / {STEPS}" in at.get("progress")[0].proto.text
    assert at.button(key="run").disabled, "a second attack must not start on top of a running one"
    return at


def test_the_live_view_updates_the_same_charts(paused: AppTest) -> None:
    at = paused
    charts = _live_charts(at)
    assert len(charts) == 6 and all(id_.endswith(f"-live_{chart}") for (id_, _), chart in zip(charts, CHARTS))
    assert not at.get("plotly_chart"), "st.plotly_chart remounts (blank) each time its figure changes"
    at.number_input(key=f"{RUN_KEY}_k").set_value(20)
    at.button(key=f"{RUN_KEY}_step").click().run()
    rerun_until(at, _paused, "the pause after 20 more steps")
    at.run()
    redrawn = _live_charts(at)  # new figures under the same ids: the browser updates its charts in place
    assert [id_ for id_, _ in redrawn] == [id_ for id_, _ in charts]
    distance = redrawn[0][1]["data"][0]
    assert len(values(distance["x"])) == 21 and distance["x"] != charts[0][1]["data"][0]["x"]


def test_step_advances_exactly_k_steps_then_resume_finishes(paused: AppTest) -> None:
    at = paused
    at.number_input(key=f"{RUN_KEY}_k").set_value(7)
    at.button(key=f"{RUN_KEY}_step").click().run()
    rerun_until(at, _paused, "the pause after 7 more steps")
    assert _job(at).snapshot().steps == 8
    at.run()
    assert "paused · step 8 / " in at.get("progress")[0].proto.text
    assert len(_live_charts(at)) == 6

    finish(at.button(key=f"{RUN_KEY}_pause").click().run(), RUN_KEY)
    shown = metrics(at)
    assert shown["Steps run"] == str(STEPS) and shown["Adversarial prediction"] != shown["Original prediction"]


def test_stop_ends_the_attack_with_its_best_result(paused: AppTest) -> None:
    at = paused
    finish(at.button(key=f"{RUN_KEY}_stop").click().run(), RUN_KEY)
    outcome = at.session_state["history"].latest()
    assert outcome.stopped and outcome.steps < STEPS
    assert metrics(at)["Steps run"] == f"{outcome.steps} of {STEPS}"
    headline = (at.success or at.warning)[0].value
    assert f"stopped after {outcome.steps} of {STEPS} steps" in headline
    assert not at.button(key="run").disabled and at.button(key=f"{RUN_KEY}_stop").disabled


def test_a_run_waits_for_the_gpu_another_session_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The device lock is held (as by another browser session's attack): the page says it waits, then runs."""
    monkeypatch.setattr("ui.models.lock_key", lambda device: "held-device")
    lock = device_lock("held-device")
    lock.acquire()
    try:
        at = explorer(steps=20)
        at.button(key="run").click().run()
        at.run()
        assert _job(at).phase is Phase.WAITING and _job(at).snapshot().steps == 0
        assert any("Waiting for the GPU" in info.value for info in at.info)
        assert at.button(key="run").disabled and not at.button(key=f"{RUN_KEY}_stop").disabled
    finally:
        lock.release()
    finish(at, RUN_KEY)
    assert not any("Waiting for the GPU" in info.value for info in at.info)
    assert metrics(at)["Steps run"] == "20"
