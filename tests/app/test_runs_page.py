"""The Runs page: runs the explorer saved, listed, reopened identical, renamed, pinned, filtered, deleted, compared,
exported; the explorer's URL restores its settings and its last run; a damaged store leaves the app working."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from alma.samples import draw_digit
from ui.images import image_png
from ui.outcome import RunOutcome
from ui.store.bundle import export_bundle, import_bundle
from ui.store.codec import load
from ui.store.store import RunStore

from .conftest import REPO, TIMEOUT, chart_data, explorer, finish, metrics

RUN_KEY, RUNS = "explorer_run", "pages/7_Runs.py"
STEPS = 20


@dataclass
class Saved:
    """Two explorer runs of one sample (EMA on, then off), as the explorer showed the second, and their ids."""

    ids: list[str]
    params: dict[str, str]
    shown: dict[str, str]
    charts: dict
    outcome: RunOutcome
    """The explorer's own (in memory) second run."""
    store: Path


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("runs_page") / "runs.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALMA_STORE", str(path))
        yield path


@pytest.fixture(scope="module")
def saved(store_file: Path) -> Saved:
    at = explorer(steps=STEPS)
    finish(at.button(key="run").click().run(), RUN_KEY)
    first = at.query_params["run"]
    at.number_input(key="adv_alpha").set_value(0.0).run()
    finish(at.button(key="run").click().run(), RUN_KEY)
    return Saved(ids=[first, at.query_params["run"]], params=dict(at.query_params), shown=metrics(at),
                 charts=chart_data(at, "scrub_charts"),
                 outcome=at.session_state["history"].latest(), store=store_file)


def _runs_page(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(RUNS)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_explorer_saves_each_run_and_puts_it_in_the_url(saved: Saved) -> None:
    first, second = saved.ids
    assert first != second and len(second) == 32
    assert saved.params["alpha"] == "0.0" and saved.params["num_steps"] == str(STEPS)
    store = RunStore(saved.store)
    assert {s.id for s in store.list()} == {first, second}
    assert load(store, second).config.attack.alpha == 0.0


def test_a_saved_run_reopens_with_the_same_charts_images_and_metrics(saved: Saved, served) -> None:
    at = _runs_page()
    at.button(key=f"lib_open_{saved.ids[1]}").click().run()
    assert not at.exception, at.exception
    assert at.query_params["run"] == saved.ids[1]
    assert chart_data(at, "lib_scrub_charts") == saved.charts
    images = {i.captions[0]: served(i.value[0]) for i in at.image}
    assert images["Adversarial"] == image_png(saved.outcome.adversarial)
    assert images[f"Iterate at step {STEPS - 1}"] == image_png(saved.outcome.trace.snapshots.images[-1, 0].float())
    shown = metrics(at)
    assert {k: v for k, v in shown.items() if k != "Wall time"} == \
        {k: v for k, v in saved.shown.items() if k != "Wall time"}


def test_a_link_to_the_explorer_restores_its_settings_and_last_run(saved: Saved) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    for name, value in saved.params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    assert at.number_input(key="custom_steps").value == STEPS and at.number_input(key="adv_alpha").value == 0.0
    assert "Last run" in [s.value for s in at.subheader]
    assert chart_data(at, "scrub_charts") == saved.charts
    assert metrics(at)["ℓ2"] == saved.shown["ℓ2"]

    broken = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    broken.query_params.update(model="mnist-smallcnn", num_steps="many", run="f" * 32)
    broken.run()
    assert not broken.exception, broken.exception
    warning = broken.warning[0].value
    assert "num_steps='many' is not a valid int" in warning and "not in this library" in warning


def test_the_gallery_filters_sorts_renames_pins_and_deletes(saved: Saved) -> None:
    first, second = saved.ids
    at = _runs_page()
    names = lambda: [re.match(r"\*\*(.+)\*\*", m.value)[1] for m in at.markdown if m.value.startswith("**")]
    assert len(names()) == 2
    at.text_input(key=f"lib_name_{first}").set_value("EMA on").run()
    at.button(key=f"lib_rename_{first}").click().run()
    at.text_input(key=f"lib_name_{second}").set_value("EMA off").run()
    at.button(key=f"lib_rename_{second}").click().run()
    assert names() == ["EMA off", "EMA on"]  # newest first
    at.selectbox(key="lib_sort").set_value("Name").run()
    assert names() == ["EMA off", "EMA on"]
    at.selectbox(key="lib_sort").set_value("Oldest first").run()
    assert names() == ["EMA on", "EMA off"]
    at.text_input(key="lib_filter").set_value("on").run()
    assert names() == ["EMA on"]
    at.text_input(key="lib_filter").set_value("").run()
    at.button(key=f"lib_pin_{first}").click().run()
    at.toggle(key="lib_pinned_only").set_value(True).run()
    assert names() == ["EMA on"]
    assert RunStore(saved.store).record(first).pinned
    at.toggle(key="lib_pinned_only").set_value(False).run()
    assert not at.error


def test_a_deleted_run_is_gone(saved: Saved, store_file: Path) -> None:
    extra = RunStore(store_file)
    record = extra.record(saved.ids[0])
    copy = dataclasses.replace(record, id="ab" * 16, name="copy to delete", pinned=False)
    extra.put(copy)
    at = _runs_page()
    at.button(key=f"lib_delete_{copy.id}").click().run()
    assert not at.exception, at.exception
    assert extra.record(copy.id) is None and extra.record(saved.ids[0]) is not None
    assert f"lib_open_{copy.id}" not in [b.key for b in at.button]


def test_two_runs_compared_overlay_their_charts_and_show_deltas(saved: Saved) -> None:
    first, second = saved.ids
    at = _runs_page()
    assert at.button(key="lib_compare").disabled
    at.checkbox(key=f"lib_select_{first}").check().run()
    at.checkbox(key=f"lib_select_{second}").check().run()
    at.button(key="lib_compare").click().run()
    assert not at.exception, at.exception
    assert at.query_params["compare"] in (f"{first},{second}", f"{second},{first}")
    a_id, b_id = at.query_params["compare"].split(",")
    store = RunStore(saved.store)
    a, b = load(store, a_id), load(store, b_id)

    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert len(figures) == 6
    names = [trace.get("name", "") for trace in figures[0]["data"]]
    assert any("(A · " in n for n in names) and any("(B · " in n for n in names), names
    settings = at.dataframe[0].value
    assert list(settings["setting"]) == ["alpha"]
    table = at.dataframe[1].value.set_index("metric")
    assert table.loc["ℓ2", "A"] == pytest.approx(a.metrics["l2"])
    assert table.loc["ℓ2", "B"] == pytest.approx(b.metrics["l2"])
    assert table.loc["ℓ2", "Δ"] == pytest.approx(b.metrics["l2"] - a.metrics["l2"])
    assert table.loc["Final D (own distance)", "Δ"] == pytest.approx(b.distance - a.distance)
    assert sum("Adversarial" == i.captions[0] for i in at.image) == 2


def test_selected_runs_export_as_a_bundle_that_imports_elsewhere(saved: Saved, served) -> None:
    at = _runs_page()
    for run_id in saved.ids:
        at.checkbox(key=f"lib_select_{run_id}").check().run()
    at.button(key="lib_export_bundle").click().run()
    [download] = [d for d in at.get("download_button") if d.proto.label.startswith("Download the bundle")]
    elsewhere = RunStore(":memory:")
    report = import_bundle(elsewhere, served(download.proto.url))
    assert sorted(run_id for run_id, _ in report.imported) == sorted(saved.ids) and not report.skipped
    assert load(elsewhere, saved.ids[1]).metrics == load(RunStore(saved.store), saved.ids[1]).metrics


def test_a_damaged_store_leaves_the_app_working(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    damaged = tmp_path / "runs.sqlite"
    damaged.write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("ALMA_STORE", str(damaged))
    at = _runs_page()
    assert "damaged or not a run library" in at.error[0].value
    at = explorer(steps=5)
    finish(at.button(key="run").click().run(), RUN_KEY)
    assert "Not saved to the run library" in at.warning[0].value
    assert metrics(at)["Steps run"] == "5"  # the run itself is shown
    assert damaged.read_bytes() == b"not a database at all" * 100


def test_an_uploaded_image_is_kept_by_its_hash_only_while_the_setting_is_on(tmp_path: Path, served,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_STORE", str(tmp_path / "runs.sqlite"))
    png = image_png(1 - draw_digit(3), enlarge=False)
    at = explorer(steps=5)
    at.button_group(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value(("three.png", png, "image/png")).run()
    assert at.toggle(key="library_keep_uploads_toggle").value  # on by default
    finish(at.button(key="run").click().run(), RUN_KEY)
    run_id = at.query_params["run"]
    assert any(c.value.startswith(f"Saved to the run library (id {run_id[:8]}") for c in at.caption)
    assert at.query_params["upload"] == hashlib.sha256(png).hexdigest() and "sample" not in at.query_params
    store = RunStore(tmp_path / "runs.sqlite")
    assert store.record(run_id).upload == png

    at.toggle(key="library_keep_uploads_toggle").set_value(False).run()
    finish(at.button(key="run").click().run(), RUN_KEY)
    assert "keeping uploads is off" in at.warning[0].value
    assert [s.id for s in store.list()] == [run_id]

    runs = _runs_page({"run": run_id})
    [download] = [d for d in runs.get("download_button") if d.proto.label == "The uploaded image"]
    assert served(download.proto.url) == png


def test_importing_a_bundle_reports_what_it_added_and_skipped(saved: Saved, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    source = RunStore(saved.store)
    good = export_bundle([source.record(saved.ids[0])])
    monkeypatch.setenv("ALMA_STORE", str(tmp_path / "runs.sqlite"))
    at = _runs_page()
    at.file_uploader(key="lib_import").set_value(("runs.zip", good, "application/zip")).run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("Imported 1 run:")
    assert f"lib_open_{saved.ids[0]}" in [b.key for b in at.button]
    at.file_uploader(key="lib_import").set_value(("again.zip", good, "application/zip")).run()
    assert "already in the library" in at.warning[0].value
    at.file_uploader(key="lib_import").set_value(("cut.zip", good[:1000], "application/zip")).run()
    assert "not a zip archive, or it is truncated" in at.error[0].value
    assert [s.id for s in RunStore(tmp_path / "runs.sqlite").list()] == [saved.ids[0]]
