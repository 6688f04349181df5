"""The main page, "Attack explorer": a short attack with the bundled model, from click to full result."""
from __future__ import annotations

import io

import torch
from PIL import Image

from .conftest import chart_data, explorer, finish, metrics, values

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
    charts = {chart["title"].split(" (")[0]: chart for chart in chart_data(at, "scrub_charts")["charts"]}
    assert len(charts) == 6 and "Distance ℓ2" in charts, list(charts)
    first_adv = int(metrics(at)["First adversarial step"])
    for title, chart in charts.items():
        assert values(chart["series"][0]["x"]).tolist() == list(range(30)), title
        assert chart["log"] == title.startswith(LOG_CHARTS), title
        assert first_adv in [line["x"] for line in chart["vlines"]], title
    assert charts["Constraint c: adversarial below 0"]["zero"]
    assert [s["name"] for s in charts["Penalty parameter ρ"]["series"]] == ["rho", "ρ increased"]
    phases = [(r["x0"], r["x1"]) for r in charts["Learning rate η"]["rects"]]
    assert phases == [(0, first_adv), (first_adv, 29)]  # exploration, then exploitation

    images = {i.captions[0].split(" ")[0]: i.value[0] for i in at.image}
    assert {"Original", "Adversarial", "Difference", "ℓ2", "Iterate"} <= set(images), images
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
    assert len(at.dataframe) == 3  # top-5 at the scrubber's step, before and after


def test_a_targeted_attack_reaches_its_target() -> None:
    at = explorer(steps=50)
    at.toggle(key="targeted").set_value(True).run()
    at.selectbox(key="target").set_value(0).run()  # what the model already predicts for the sample "0"
    assert at.button(key="run").disabled  # refused before Run, with the reason
    assert "already predicts the target class" in at.warning[0].value

    at.selectbox(key="target").set_value(6).run()
    finish(at.button(key="run").click().run(), RUN_KEY)
    assert not at.error
    assert "targeted at 6" in at.success[0].value
    assert (metrics(at)["Original prediction"], metrics(at)["Adversarial prediction"]) == ("0", "6")
