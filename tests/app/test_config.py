"""The run config: the JSON the result offers for download, loaded again, sets every widget back and reruns the
same attack, with the same adversarial."""
from __future__ import annotations

import json
from collections.abc import Callable

import torch
from streamlit.testing.v1 import AppTest

from .conftest import explorer, finish

RUN_KEY = "explorer_run"


def _download(at: AppTest, label: str, served: Callable[[str], bytes]) -> bytes:
    button = next(b for b in at.get("download_button") if b.proto.label == label)
    return served(button.proto.url)


def test_downloaded_config_reruns_the_same_attack(served) -> None:
    at = explorer(steps=25)
    at.selectbox(key="sample").set_value("mnist/7")
    at.selectbox(key="distance").set_value("l1").run()
    finish(at.button(key="run").click().run(), RUN_KEY)
    first = at.session_state["history"].latest()
    config, png = _download(at, "Run config (JSON)", served), _download(at, "Adversarial (PNG)", served)
    assert json.loads(config)["attack"]["num_steps"] == 25

    at.button_group(key="steps").set_value("100")
    at.selectbox(key="sample").set_value("mnist/2")
    at.selectbox(key="distance").set_value("l2").run()
    at.file_uploader(key="config_file").set_value(("run.json", config, "application/json")).run()
    finish(at, RUN_KEY)

    assert not at.error and not at.warning
    assert (at.button_group(key="steps").value, at.number_input(key="custom_steps").value) == ("custom", 25)
    assert (at.selectbox(key="sample").value, at.selectbox(key="distance").value) == ("mnist/7", "l1")
    history = list(at.session_state["history"])
    assert len(history) == 2, "loading the config reruns it once"
    again = history[-1]
    assert again.config == first.config
    assert torch.equal(again.adversarial, first.adversarial) and again.metrics == first.metrics
    assert _download(at, "Adversarial (PNG)", served) == png


def test_a_bad_config_file_shows_an_error_and_the_page_keeps_working() -> None:
    at = explorer(steps=10)
    at.file_uploader(key="config_file").set_value(("run.json", b"{not json", "application/json")).run()
    assert not at.exception and "not a run config" in at.sidebar.error[0].value
    finish(at.button(key="run").click().run(), RUN_KEY)
    assert at.session_state["history"].latest().steps == 10
