"""The main page, "Attack explorer": a short attack with the bundled model, from click to full result."""
from __future__ import annotations

import io

import torch
from PIL import Image

from .conftest import charts, explorer, finish, metrics, values

RUN_KEY = "explorer_run"
LOG_CHARTS = ("Penalty multiplier μ", "Penalty parameter ρ", "Learning rate η", "Gradient norm")
RESULT_METRICS = ("ℓ0 (pixels)", "ℓ1", "ℓ2", "ℓ∞", "CIEDE2000", "LPIPS", "1 − SSIM", "Success",
                  "First adversarial step", "Forwards / backwards", "Wall time", "Device", "Steps run")


def test_run_shows_charts_images_metrics_and_a_changed_prediction(served) -> None:
    at = explorer(steps=30)
    assert at.selectbox(key="model").value == "mnist-smallcnn"  # the bundled default is preselected
    assert [i.captions[0] for i in at.image] == ["As the model sees it: 28×28 grayscale"]
    assert not at.button(key="run").disabled
    if not torch.cuda.is_available():
        assert "No GPU found: running on the CPU." in [c.value for c in at.sidebar.caption]

    finish(at.button(key="run").click().run(), RUN_KEY)

    assert not at.error
    figures = {figure["layout"]["title"]["text"]: figure for figure in charts(at)}
    assert len(figures) == 6 and "Distance ℓ2" in figures, list(figures)
    first_adv = int(metrics(at)["First adversarial step"])
    for title, chart in figures.items():
        assert values(chart["data"][0]["x"]).tolist() == list(range(30)), title
        assert (chart["layout"]["yaxis"]["type"] == "log") == title.startswith(LOG_CHARTS), title
        assert first_adv in [s["x0"] for s in chart["layout"]["shapes"] if s.get("yref") == "paper"], title
    zero_line = [s for s in figures["Constraint c: adversarial below 0"]["layout"]["shapes"] if s.get("xref")]
    assert [(s["y0"], s["y1"]) for s in zero_line] == [(0, 0)]
    assert [d["name"] for d in figures["Penalty parameter ρ (▲ increase ρ ← γρ)"]["data"]] == ["ρ", "ρ increased"]
    phases = [(s["x0"], s["x1"]) for s in figures["Learning rate η"]["layout"]["shapes"] if s["type"] == "rect"]
    assert phases == [(0, first_adv), (first_adv, 29)]  # exploration, then exploitation

    images = {i.captions[0].split(" ")[0]: i.value[0] for i in at.image}
    assert {"Original", "Adversarial", "Difference", "ℓ2"} <= set(images), images
    for url in images.values():
        png = Image.open(io.BytesIO(served(url)))
        assert png.format == "PNG" and png.size == (280, 280)  # 28×28 enlarged ×10 with nearest-neighbour

    shown = metrics(at)
    assert set(RESULT_METRICS) <= set(shown), shown
    assert shown["Success"] == "yes" and shown["Steps run"] == "30" and shown["Forwards / backwards"] == "30 / 30"
    assert shown["Device"].startswith("cpu")
    assert shown["Adversarial prediction"] != shown["Original prediction"]
    latest = at.session_state["history"].latest()
    assert latest.after.label != latest.before.label and latest.success
    assert [d.proto.label for d in at.get("download_button")] == ["Adversarial (PNG)", "Trace (CSV)",
                                                                   "Trace (JSON)", "Run config (JSON)"]
    assert len(at.dataframe) == 2  # top-5 before and after


def test_a_targeted_attack_reaches_its_target() -> None:
    at = explorer(steps=50)
    at.toggle(key="targeted").set_value(True).run()
    at.selectbox(key="target").set_value(0).run()  # what the model already predicts for the sample "0"
    finish(at.button(key="run").click().run(), RUN_KEY)
    assert "already predicts the target class" in at.error[0].value

    at.selectbox(key="target").set_value(6).run()
    finish(at.button(key="run").click().run(), RUN_KEY)
    assert not at.error
    assert "targeted at 6" in at.success[0].value
    assert (metrics(at)["Original prediction"], metrics(at)["Adversarial prediction"]) == ("0", "6")
