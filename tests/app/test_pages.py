"""The other pages, reached from the app's navigation as a user does: EMA on/off, Penalty functions, Learning rate
and How ALMA works."""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from alma.penalties import Penalty
from ui.axioms import check_axioms

from .conftest import REPO, TIMEOUT, charts, explorer, finish, metrics, values

EMA, PENALTY, LR, HOW = (f"pages/{name}.py" for name in ("1_EMA_on_off", "2_Penalty_functions", "3_Learning_rate",
                                                          "4_How_ALMA_works"))


def _page(path: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def test_ema_page_attacks_one_sample_with_two_alphas() -> None:
    at = _page(EMA)
    at.button_group(key="ema_steps").set_value("custom").run()
    at.number_input(key="ema_custom_steps").set_value(40).run()
    finish(at.button(key="ema_run_button").click().run(), "ema_run")

    assert not at.error
    outcomes = at.session_state["ema_result"]
    assert list(outcomes) == ["run 1: α = 0", "run 2: α = 0.9"]
    for outcome in outcomes.values():
        settings = outcome.config.attack
        assert (settings.alpha_rms, settings.momentum, settings.num_steps) == (0.9, 0.9, 40)
        assert outcome.success and outcome.after.label != outcome.before.label
    distance, mu = charts(at)
    assert {d["name"] for d in mu["data"]} == {"μ (run 1: α = 0)", "μ (run 2: α = 0.9)"}
    assert len(distance["data"]) == 4 and mu["layout"]["yaxis"]["type"] == "log"
    shown = metrics(at)
    for name, outcome in outcomes.items():
        assert shown[f"Final ℓ2, {name}"] == f"{outcome.distance:.4g}"


def test_penalty_page_follows_the_sliders_and_checks_the_axioms() -> None:
    at = _page(PENALTY)
    at.select_slider(key="penalty_rho").set_value(10.0)
    at.select_slider(key="penalty_mu").set_value(0.1).run()
    (figure,) = charts(at)
    derivatives = [d for d in figure["data"] if d.get("yaxis") == "y2"]
    assert len(derivatives) == len(at.multiselect(key="penalty_names").value) >= 2
    for curve in derivatives:
        x, y = values(curve["x"]), values(curve["y"])
        assert np.isclose(y[np.argmin(abs(x))], 0.1), curve["name"]  # P′(0) = μ
    axioms = at.dataframe[0].value
    assert len(axioms) == 4 * len(derivatives) and (axioms["holds"] == True).all()  # noqa: E712
    shown = " ".join(axioms.astype(str).to_numpy().ravel())
    assert not [c for c in shown if ord(c) >= 0x2190 and c not in "−≥→∞′"], "symbols a font may lack (emoji)"


def test_an_axiom_check_can_fail() -> None:
    constant = Penalty("flat", lambda y, rho, mu: mu * y, lambda y, rho, mu: mu.expand_as(y), "", "")
    passed = [check.passed for check in check_axioms(constant, 1.0, 1.0)]
    assert passed == [True, True, False, False]


def test_learning_rate_and_how_pages_show_the_last_run() -> None:
    for path in (LR, HOW):
        assert "run an attack" in _page(path).info[0].value.lower(), path

    at = explorer(steps=30)
    finish(at.button(key="run").click().run(), "explorer_run")
    latest = at.session_state["history"].latest()

    at.switch_page(LR).run()
    assert not at.exception and not at.info
    last_run, sandbox = charts(at)
    assert values(last_run["data"][0]["y"]) == pytest.approx(latest.trace.lr[:, 0].numpy())
    assert metrics(at)["first adversarial step s"] == str(latest.first_adv_step)
    assert len(values(sandbox["data"][0]["x"])) == 1000

    at.switch_page(HOW).run()
    assert not at.exception and not at.info
    assert len(charts(at)) == 6 and len(at.image) == 4 and len(at.latex) >= 11
