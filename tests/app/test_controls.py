"""Stop, Step K and Resume on the main page. AppTest cannot click on a timer, so the job starts paused (as if Pause
had been clicked at once) and the tests rerun the page as the live view's timer would; the browser test pauses and
stops a running attack."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from ui.config import AttackSettings, InputRef, RunConfig
from ui.jobs import Job, Phase, Pool, pool

from .conftest import explorer, finish, metrics, rerun_until, values
from .tasks import TinyAttack

RUN_KEY = "explorer_run"
STEPS = 300
"""Long enough for the live view to redraw several times after Resume (about 200 steps/s here)."""
CHARTS = ("distance_chart", "constraint_chart", "mu_chart", "rho_chart", "lr_chart", "grad_norm_chart")


def _job(at: AppTest) -> Job:
    return at.session_state[RUN_KEY].job


def _paused(at: AppTest) -> bool:
    return _job(at).phase is Phase.PAUSED


def _live_charts(at: AppTest) -> list[tuple[str, dict]]:
    """The live view's chart components: element id and the data sent to the browser."""
    return [(chart.proto.id, json.loads(chart.proto.json))
            for chart in at.get("bidi_component") if chart.proto.component_name.endswith("alma_live_charts")]


class _StartPaused:
    """The shared pool, its jobs paused after their first step (as if Pause had been clicked at once)."""

    def submit(self, *args, **kwargs) -> Job:
        return pool().submit(*args, **kwargs, start_paused=True)


@pytest.fixture
def paused(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The main page after Run, its attack paused after its first step."""
    monkeypatch.setattr("ui.live.pool", _StartPaused)
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
    [(element_id, data)] = _live_charts(at)
    assert element_id.endswith("-live") and len(data["charts"]) == 6 and data["steps"] == 1
    assert not at.get("plotly_chart"), "st.plotly_chart remounts (blank) each time its figure changes"
    at.number_input(key=f"{RUN_KEY}_k").set_value(20)
    at.button(key=f"{RUN_KEY}_step").click().run()
    rerun_until(at, _paused, "the pause after 20 more steps")
    at.run()
    [(redrawn_id, redrawn)] = _live_charts(at)  # new data under the same id: the browser updates in place
    assert redrawn_id == element_id and redrawn["steps"] == 21
    for chart in redrawn["charts"]:
        for series in chart["series"]:
            if series["mode"] == "lines":
                assert list(values(series["x"])) == list(range(21)), chart["title"]


def test_a_config_loaded_during_a_run_starts_when_that_run_ends(paused: AppTest) -> None:
    at = paused
    paused_job = _job(at)
    config = RunConfig(model="mnist-smallcnn", input=InputRef(sample="mnist/2"),
                       attack=AttackSettings(num_steps=12)).to_json().encode()
    at.file_uploader(key="config_file").set_value(("run.json", config, "application/json")).run()
    assert _paused(at) and _job(at).snapshot().steps == 1, "the active run goes on"
    at.button(key=f"{RUN_KEY}_stop").click().run()
    rerun_until(at, lambda at: RUN_KEY in at.session_state and _job(at) is not paused_job
                and at.session_state[RUN_KEY].context[0].attack.num_steps == 12, "the loaded config's run")
    rerun_until(at, _paused, "the loaded config's run paused after its first step (this test's pool)")
    finish(at.button(key=f"{RUN_KEY}_pause").click().run(), RUN_KEY)  # Resume
    assert at.session_state["history"].latest().config.attack.num_steps == 12


def test_step_advances_exactly_k_steps_then_resume_finishes(paused: AppTest) -> None:
    at = paused
    at.number_input(key=f"{RUN_KEY}_k").set_value(7)
    at.button(key=f"{RUN_KEY}_step").click().run()
    rerun_until(at, _paused, "the pause after 7 more steps")
    assert _job(at).snapshot().steps == 8
    at.run()
    assert "paused · step 8 / " in at.get("progress")[0].proto.text
    assert any(i.captions[0] == "Iterate at step 7" for i in at.image), "the paused page shows the current iterate"
    assert len(_live_charts(at)[0][1]["charts"]) == 6

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


@pytest.fixture
def one_worker() -> Pool:
    small = Pool(cores=1, warm={"cpu": 1}, max_cpu_workers=1)
    yield small
    small.shutdown()


def test_a_run_waits_in_line_while_the_workers_are_busy(monkeypatch: pytest.MonkeyPatch, one_worker: Pool) -> None:
    """The only worker holds another session's attack: the page says where the run is in line, then runs it."""
    monkeypatch.setattr("ui.live.pool", lambda: one_worker)
    other = one_worker.submit(TinyAttack(100_000), "cpu", start_paused=True)
    rerun_until(AppTest.from_string("pass"), lambda _: other.phase is Phase.PAUSED, "the other session's attack")
    at = explorer(steps=20)
    at.button(key="run").click().run()
    at.run()
    assert _job(at).phase is Phase.WAITING and _job(at).snapshot().steps == 0
    assert "1st in line for cpu" in at.get("progress")[0].proto.text
    assert at.button(key="run").disabled and not at.button(key=f"{RUN_KEY}_stop").disabled
    other.stop()
    finish(at, RUN_KEY)
    assert metrics(at)["Steps run"] == "20"
