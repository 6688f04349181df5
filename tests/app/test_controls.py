"""Stop, Step K and Resume on the main page. AppTest cannot click while a script run follows the attack, so the job
starts paused (as if Pause had been clicked at once); the browser test stops a running attack."""
from __future__ import annotations

from functools import partial

import pytest
from streamlit.testing.v1 import AppTest

from ui.runner import Job, Phase

from .conftest import explorer, finish, metrics

RUN_KEY = "explorer_run"
STEPS = 300
"""Long enough for the live view to redraw several times after Resume (about 200 steps/s here)."""


@pytest.fixture
def paused(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The main page after Run, its attack paused after its first step."""
    monkeypatch.setattr("ui.live.Job", partial(Job, start_paused=True))
    at = explorer(steps=STEPS)
    at.button(key="run").click().run()
    assert not at.exception, at.exception
    assert _job(at).phase is Phase.PAUSED and _job(at).snapshot().steps == 1
    assert f"paused · step 1 / {STEPS}" in at.get("progress")[0].proto.text
    assert at.button(key="run").disabled, "a second attack must not start on top of a running one"
    return at


def _job(at: AppTest) -> Job:
    return at.session_state[RUN_KEY].job


def test_step_advances_exactly_k_steps_then_resume_finishes(paused: AppTest) -> None:
    at = paused
    at.number_input(key=f"{RUN_KEY}_k").set_value(7)
    at.button(key=f"{RUN_KEY}_step").click().run()
    assert _job(at).phase is Phase.PAUSED and _job(at).snapshot().steps == 8
    assert len(at.get("plotly_chart")) == 6

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
