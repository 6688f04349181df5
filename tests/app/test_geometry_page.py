"""The Geometry page: the 2-D slice through the last run's clean input, computed as a stoppable job, and its job."""
from __future__ import annotations

import time

import pytest
import torch
from streamlit.testing.v1 import AppTest

import alma
from alma.images import to_model_input
from alma.models import DEFAULT_MODEL, get_info, load_model
from alma.samples import list_samples, load_sample
from ui.geometry_task import PATH_BYTES, GeometryTask, path_indices

from .conftest import REPO, TIMEOUT, charts, explorer, finish, values

PAGE, RUN_KEY = "pages/6_Geometry.py", "geo_run"


def _last_run_on_the_page(steps: int = 30) -> tuple[AppTest, object]:
    """A short explorer run on the bundled model, then the Geometry page."""
    at = explorer(steps=steps)
    finish(at.button(key="run").click().run(), "explorer_run")
    latest = at.session_state["history"].latest()
    if latest.trace.snapshots is None:
        pytest.skip("the explorer does not keep snapshots yet (trace.snapshots is None)")
    at.session_state["scrub_step"] = 12  # the explorer's scrubber step: the page's default highlighted step
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at, latest


def test_without_a_run_the_page_points_to_the_explorer() -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert "attack explorer" in at.info[0].value.lower()
    assert not at.get("plotly_chart")


def test_the_slice_of_the_last_run_with_its_path() -> None:
    at, latest = _last_run_on_the_page()
    assert any("forward passes" in c.value for c in at.caption)
    at.button_group(key="geo_resolution").set_value(21).run()
    finish(at.button(key="geo_run_button").click().run(), RUN_KEY)

    assert not at.error and not at.warning
    (figure,) = charts(at)
    traces = {trace["name"]: trace for trace in figure["data"]}
    boundary = values(traces["decision boundary c = 0"]["z"]).astype(float)
    assert boundary.size == 21 * 21 and boundary.min() < 0 < boundary.max(), "the boundary crosses the slice"
    path = traces["iterates x̃⁽ⁱ⁾ (projected)"]
    assert len(values(path["x"])) == len(latest.trace.snapshots) == 30
    assert values(path["marker"]["color"]).tolist() == latest.trace.snapshots.steps.tolist()
    best = traces["best adversarial x̃*"]
    assert best["x"][0] == pytest.approx(latest.distance, rel=1e-4), "x̃* sits at its distance D along u"
    assert abs(best["y"][0]) < 1e-4 * latest.distance
    assert (traces["clean input x"]["x"], traces["clean input x"]["y"]) == ([0.0], [0.0])
    assert "step 12" in traces, "the scrubber's step is highlighted"
    assert any("2-D projection of a path in d = 784 dimensions" in c.value for c in at.caption)

    at.select_slider(key="geo_step").set_value(20).run()  # redraws the stored slice: no new job
    assert RUN_KEY not in at.session_state and "step 20" in {t["name"] for t in charts(at)[0]["data"]}


def test_stop_ends_a_large_grid_early() -> None:
    at, _ = _last_run_on_the_page()
    at.button_group(key="geo_resolution").set_value(161).run()
    at.button(key="geo_run_button").click().run()
    finish(at.button(key="geo_run_stop").click().run(), RUN_KEY)

    assert not at.error
    stopped = [w.value for w in at.warning if w.value.startswith("Stopped:")]
    before = [i.value for i in at.info if i.value.startswith("Stopped before")]
    assert len(stopped) + len(before) == 1, (stopped, before)
    if stopped:
        result = at.session_state["geo_result"][1]
        assert not result.plane.complete and 0 < result.points < 161 ** 2


class _Context:
    """What the job sees of a worker, in this process: stops after `stop_after` grid points."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after, self.done, self.stop_requested = stop_after, 0, False

    def model(self, name: str, device: str) -> torch.nn.Module:
        return load_model(name, device)

    def progress(self, label: str, done: int, total: int) -> None:
        self.done = done
        self.stop_requested = self.stop_after is not None and done >= self.stop_after

    def check(self) -> None:
        assert not self.stop_requested

    @property
    def active_seconds(self) -> float:
        return time.perf_counter()


@pytest.fixture(scope="module")
def l1_task() -> GeometryTask:
    """ALMA ℓ1 on the bundled model's first sample (40 steps, every iterate kept) as the page's job."""
    model = load_model(DEFAULT_MODEL)
    x = to_model_input(load_sample(list_samples("mnist")[0]), get_info(DEFAULT_MODEL))[0]
    label = int(model(x[None]).argmax())
    result = alma.attack(model, x[None], torch.tensor([label]), distance="l1", num_steps=40, snapshot_every=1, seed=0)
    assert bool(result.success[0])
    return GeometryTask(DEFAULT_MODEL, "cpu", x, result.adv_inputs[0], True, label, "l1", "dlr", False, 1e-4,
                        resolution=21, extent=1.5, steps=result.snapshots.steps, iterates=result.snapshots.images[:, 0],
                        first_adv_step=int(result.trace.first_adv_step[0]))


def test_the_job_puts_the_best_adversarial_at_its_distance(l1_task: GeometryTask) -> None:
    geometry = l1_task(_Context())
    plane = geometry.plane
    assert plane.complete and geometry.points == 21 * 21 and plane.constraint.shape == (21, 21)
    distance = float((l1_task.towards - l1_task.clean).abs().sum())
    assert geometry.best[0] == pytest.approx(distance, rel=1e-4) and abs(geometry.best[1]) < 1e-4 * distance
    first = int((l1_task.steps == l1_task.first_adv_step).nonzero())
    assert geometry.first_adv == (float(geometry.path.a[first]), float(geometry.path.b[first]))
    assert len(geometry.path.a) == len(geometry.steps) == 40
    assert plane.constraint[10, 10] > 0, "the clean input (the grid's centre) is not adversarial"


def test_the_job_stops_between_batches(l1_task: GeometryTask) -> None:
    context = _Context(stop_after=1)
    geometry = l1_task(context)
    assert not geometry.plane.complete and geometry.points == context.done == 256  # one batch of MNIST digits
    assert geometry.plane.constraint.flatten()[256:].isnan().all()


def test_long_paths_are_thinned_keeping_the_first_adversarial() -> None:
    steps = torch.arange(1000)
    numel = PATH_BYTES // (2 * 10)  # 10 iterates fit
    chosen = path_indices(steps, numel, keep=537)
    assert chosen[0] == 0 and chosen[-1] == 999 and 537 in chosen and len(chosen) == 11
    assert torch.equal(path_indices(steps[:10], numel, keep=3), torch.arange(10))
