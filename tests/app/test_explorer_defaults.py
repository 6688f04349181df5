"""What a new user meets in the explorer: the default download is adversarial, every metric is readable, the last
run says which input it was for, and a run that cannot work is refused before Run with the reason."""
from __future__ import annotations

import re

import torch

from alma.images import load_image, to_model_input
from alma.models import DEFAULT_MODEL, get_info, load_model
from ui.panels import METRICS

from .conftest import explorer, finish


def _download(at, served, key: str) -> tuple[bytes, str]:
    """The bytes and the file name the browser gets from the download button of this key."""
    (button,) = [b for b in at.get("download_button") if b.proto.id.endswith(f"-{key}")]
    name = button.proto.url.rsplit("/", 1)[-1]
    for storage in reversed(served.storages):
        try:
            return served(button.proto.url), storage.get_file(name.split(".")[0]).filename
        except Exception:  # noqa: BLE001 — served by another run of the page
            continue
    raise AssertionError(f"{key} was not served")


def test_the_default_download_is_adversarial(served) -> None:
    at = explorer(steps=30)
    assert at.session_state["adv_levels"] == 256  # the explorer attacks in 8-bit levels by default
    finish(at.button(key="run").click().run(), "explorer_run")
    outcome = at.session_state["history"].latest()
    assert outcome.success and outcome.config.attack.levels == 256

    png, name = _download(at, served, "result_png")
    assert re.fullmatch(r"[A-Za-z0-9._-]+\.png", name), name
    image = to_model_input(load_image(png), get_info(DEFAULT_MODEL), invert=False)
    with torch.no_grad():
        label = int(load_model(DEFAULT_MODEL)(image).argmax(1))
    assert label != outcome.before.label and label == outcome.after.label  # the file itself fools the model
    assert (image[0] - outcome.adversarial).abs().max() < 1e-6  # the PNG is the adversarial found (float32 of k/255)
    assert not [w for w in at.warning if "rounding undoes" in w.value]

    shown = {m.label: m for m in at.metric}
    for name, label in METRICS:
        value = float(outcome.metrics[name])
        assert len(shown[label].value) <= 9, (label, shown[label].value)  # fits its column at 1400 px
        assert repr(value) in shown[label].proto.help, label  # the full value on hover

    assert not [w for w in at.warning if "not for the image" in w.value]
    at.selectbox(key="sample").set_value(at.selectbox(key="sample").options[3]).run()
    (warning,) = [w for w in at.warning if "not for the image" in w.value]
    assert outcome.config.input.sample.replace("/", "") in warning.value.replace("\\", "").replace("/", "")

    at.button(key="levels_switch").click().run()  # the paper's continuous setting, one click away
    assert at.session_state["adv_levels"] is None
    assert at.button(key="levels_switch").label == "Attack in 8-bit levels"


def test_run_is_disabled_with_the_reason_when_the_target_is_the_clean_class() -> None:
    at = explorer(steps=30)
    clean = at.session_state["clean_prediction"][1].label
    at.toggle(key="targeted").set_value(True).run()
    at.selectbox(key="target").set_value(clean).run()
    assert at.button(key="run").disabled
    assert [w for w in at.warning if "already predicts the target class" in w.value]
    at.selectbox(key="target").set_value((clean + 1) % 10).run()
    assert not at.button(key="run").disabled
    assert not [w for w in at.warning if "already predicts" in w.value]


def test_an_upload_over_the_limit_names_its_size_and_the_limit() -> None:
    at = explorer(steps=30)
    at.button_group(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value(("huge.png", b"\x89PNG\r\n\x1a\n" + bytes(21 * 2**20), "image/png"))
    at.run()
    assert not at.exception
    (error,) = at.error
    assert "21.0 MB" in error.value and "limit of 20 MB" in error.value, error.value
    assert "up to 20 MB" in at.file_uploader(key="upload").label
