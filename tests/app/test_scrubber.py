"""The step scrubber after a run: the iterate, values and cursor of step k; Play; the exports for slides."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from ui.images import image_png
from ui.scrubber import SPEED_KEY, STEP_KEY

from .conftest import chart_data, explorer, finish, metrics

RUN_KEY = "explorer_run"
STEPS = 30


@pytest.fixture(scope="module")
def ran() -> AppTest:
    at = explorer(steps=STEPS)
    return finish(at.button(key="run").click().run(), RUN_KEY)


def _image(at: AppTest, caption: str) -> str:
    [url] = [i.value[0] for i in at.image if i.captions[0] == caption]
    return url


def test_scrubbing_to_k_shows_the_iterate_and_values_of_step_k(ran: AppTest, served) -> None:
    at = ran
    outcome = at.session_state["history"].latest()
    snapshots = outcome.trace.snapshots
    assert snapshots.steps.tolist() == list(range(STEPS)), "the explorer keeps every iterate of a short run"
    assert at.slider(key=STEP_KEY).value == STEPS - 1, "the scrubber starts at the last step"
    for k in (7, 0):
        at.slider(key=STEP_KEY).set_value(k).run()
        assert served(_image(at, f"Iterate at step {k}")) == image_png(snapshots.images[k, 0].float())
        shown = metrics(at)
        assert shown[f"ℓ2 at step {k}"] == f"{float(outcome.trace.distance[k, 0]):.4g}"
        assert shown[f"μ at step {k}"] == f"{float(outcome.trace.mu[k, 0]):.3g}"
        assert chart_data(at, "scrub_charts")["cursor"] == k
    at.button(key="scrub_forward").click().run()
    assert at.slider(key=STEP_KEY).value == 1
    at.button(key="scrub_back").click().run()
    at.button(key="scrub_back").click().run()
    assert at.slider(key=STEP_KEY).value == 0, "the scrubber stops at the first step"


def test_play_advances_at_the_chosen_speed_and_stops_at_the_end(ran: AppTest) -> None:
    at = ran
    at.slider(key=STEP_KEY).set_value(0).run()
    at.selectbox(key=SPEED_KEY).set_value(25).run()
    at.toggle(key="scrub_play").set_value(True).run()  # each redraw while playing is one frame: 25 steps/s × 0.2 s
    seen = [at.slider(key=STEP_KEY).value]
    while at.toggle(key="scrub_play").value and len(seen) < 20:
        at.run()
        seen.append(at.slider(key=STEP_KEY).value)
    assert seen == [5, 10, 15, 20, 25, STEPS - 1], seen
    assert not at.toggle(key="scrub_play").value, "Play stops at the last step"


def test_the_gif_has_the_chosen_number_of_frames(ran: AppTest, served) -> None:
    at = ran
    at.number_input(key="explorer_export_frames").set_value(6).run()
    at.button(key="explorer_export_gif").click().run()
    [download] = [d for d in at.get("download_button") if d.proto.label.startswith("Download GIF")]
    gif = Image.open(io.BytesIO(served(download.proto.url)))
    assert gif.format == "GIF" and gif.n_frames == 6
