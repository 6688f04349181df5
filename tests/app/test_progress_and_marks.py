"""The progress line's words and the marks of the trace charts: what a reader sees at a glance."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ui import figures
from ui.jobs import Phase, Snapshot
from ui.live import ActiveRun, progress_text

RUN = ActiveRun(job=None, steps_per_attack=1000, total_steps=1000)


def _snapshot(phase: Phase, steps: int, rate: float, seconds: float = 2.0, stopped: bool = False) -> Snapshot:
    return Snapshot(phase=phase, traces={}, steps=steps, steps_per_second=rate, active_seconds=seconds,
                    stopped=stopped)


def test_no_rate_before_it_is_measured() -> None:
    text = progress_text(RUN, _snapshot(Phase.RUNNING, 0, 0.0, 0.1))
    assert "steps/s" not in text and "measuring speed" in text and "ETA" not in text


def test_the_rate_and_eta_while_running() -> None:
    text = progress_text(RUN, _snapshot(Phase.RUNNING, 400, 200.0))
    assert text.startswith("running · step 400 / 1000") and "200 steps/s" in text and "ETA 3.0 s" in text
    assert "0.412 steps/s" in progress_text(RUN, _snapshot(Phase.RUNNING, 3, 0.412))  # a slow model: not "0"


@pytest.mark.parametrize("phase, stopped, state", [(Phase.PAUSED, False, "paused"), (Phase.RUNNING, True, "stopping")])
def test_no_stale_rate_while_paused_or_stopping(phase: Phase, stopped: bool, state: str) -> None:
    text = progress_text(RUN, _snapshot(phase, 400, 180.0, 2.5, stopped))
    assert text.startswith(state) and "steps/s" not in text and "ETA" not in text and "2.5 s run" in text


def _lr_frame(first_adversarial: int, steps: int = 1000) -> pd.DataFrame:
    step = np.arange(steps)
    return pd.DataFrame({"run": "", "step": step, "sample": 0, "lr": np.where(step < first_adversarial, 0.1, 0.01),
                         "is_adv": step >= first_adversarial})


def _notes(figure) -> list[tuple[float, str]]:
    return [(a.x, a.text.strip()) for a in figure.layout.annotations if "xplo" in a.text]


def test_exploration_label_inside_a_wide_band() -> None:
    notes = _notes(figures.lr_chart(_lr_frame(400), 1000))
    assert notes == [(0, "exploration"), (999, "exploitation")]


@pytest.mark.parametrize("first", [0, 3, 40])
def test_a_narrow_exploration_band_is_named_in_the_exploitation_label(first: int) -> None:
    (note,) = _notes(figures.lr_chart(_lr_frame(first), 1000))
    assert note == (999, f"exploration: steps 0–{first} · exploitation")  # right-aligned at the end: never in a band


def test_log_axes_label_every_tick_with_its_exponent() -> None:
    frame = _lr_frame(400).assign(mu=1.0, rho=1.0, grad_norm=1.0, distance=1.0, best_distance=1.0, constraint=0.0)
    for chart in (figures.mu_chart, figures.rho_chart, figures.lr_chart, figures.grad_norm_chart):
        axis = chart(frame, 1000).layout.yaxis
        assert (axis.type, axis.minorloglabels, axis.exponentformat) == ("log", "complete", "power"), chart.__name__
