"""Names a user can choose (here: the class names of a model) are text in the page, never markdown or HTML."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from .conftest import TIMEOUT

HOSTILE = "<img src=x onerror=alert(1)> **bold** [link](javascript:alert(1))"


def _result_page() -> None:
    """A finished 30-step run shown by the explorer's result panel, for a model whose class names are hostile."""
    import dataclasses
    import time

    from alma.images import to_model_input
    from alma.models import DEFAULT_MODEL, get_info, load_model
    from alma.samples import load_sample
    from ui.config import AttackSettings, InputRef, RunConfig
    from ui.outcome import run_attack
    from ui.panels import result_panel

    class Clock:  # what `run_attack` uses of a job
        started = time.perf_counter()
        active_seconds = property(lambda self: time.perf_counter() - self.started)

        def callback(self, label: str = "") -> None:
            return None

    hostile = "<img src=x onerror=alert(1)> **bold** [link](javascript:alert(1))"
    info = get_info(DEFAULT_MODEL)
    info = dataclasses.replace(info, class_names=tuple(f"{hostile} {i}" for i in range(len(info.class_names))))
    image = to_model_input(load_sample("mnist/3"), info)[0]
    config = RunConfig(model=DEFAULT_MODEL, input=InputRef(sample="mnist/3"),
                       attack=AttackSettings(num_steps=30, targeted=True, target=5))
    result_panel(run_attack(Clock(), load_model(DEFAULT_MODEL), image, config), info)


def test_hostile_class_names_are_escaped_in_the_result_panel() -> None:
    at = AppTest.from_function(_result_page, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    shown = [e.value for e in (*at.success, *at.warning, *at.caption, *at.markdown, *at.metric)]
    with_name = [text for text in shown if "img src" in text]
    assert with_name, "the class names are shown (targeted at one of them)"
    for text in with_name:
        assert "<img" not in text.replace("\\<img", ""), text  # every markup character backslash-escaped
        assert "**bold**" not in text and "](javascript" not in text, text
    assert HOSTILE not in " ".join(shown)
