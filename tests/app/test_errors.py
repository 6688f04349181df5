"""Failures become clear messages, never tracebacks, and the page stays usable: weights that cannot be loaded, the
GPU running out of memory, a model error."""
from __future__ import annotations

import pytest
import torch

from alma.weights import WeightsError
from ui.jobs import Job, pool

from .conftest import explorer, finish, metrics
from .tasks import Raises

RUN_KEY = "explorer_run"


def test_weights_that_cannot_be_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(name: str, *_: object) -> None:
        raise WeightsError(f"{name}: the download failed (no network)")

    at = explorer(steps=10)
    with monkeypatch.context() as patch:
        patch.setattr("ui.models.load_model", unreachable)
        at.selectbox(key="model").set_value("mnist-lenet5").run()
        assert not at.exception, at.exception
        assert at.error[0].value == "The model's weights could not be loaded."  # one short sentence
        details = [e for e in at.expander if e.label == "Details"]
        assert any("no network" in m.value for m in details[0].markdown)  # the details, in an expander
        assert at.button(key="run").disabled
    at.selectbox(key="model").set_value("mnist-smallcnn").run()
    assert not at.error
    finish(at.button(key="run").click().run(), RUN_KEY)
    assert metrics(at)["Steps run"] == "10"


@pytest.mark.parametrize("error, words", [(torch.cuda.OutOfMemoryError("CUDA out of memory"), "ran out of memory"),
                                          (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), "shapes")])
def test_an_attack_that_fails(monkeypatch: pytest.MonkeyPatch, error: Exception, words: str) -> None:
    class FailingPool:  # the worker runs a task that fails as the attack would
        def submit(self, task: object, *args: object, **kwargs: object) -> Job:
            return pool().submit(Raises(error), *args, **kwargs)

    at = explorer(steps=10)
    with monkeypatch.context() as patch:
        patch.setattr("ui.live.pool", FailingPool)
        finish(at.button(key="run").click().run(), RUN_KEY)
    assert len(at.error) == 1 and words in at.error[0].value
    out_of_memory = isinstance(error, torch.cuda.OutOfMemoryError)
    assert [b.label for b in at.button if b.key in ("oom_cpu", "oom_steps")] == \
        (["Run on the CPU instead", "Use 100 steps"] if out_of_memory else [])
    if out_of_memory:
        at.button(key="oom_steps").click().run()
        assert at.button_group(key="steps").value == "100"

    finish(at.button(key="run").click().run(), RUN_KEY)
    assert not at.error and metrics(at)["Steps run"] == ("100" if out_of_memory else "10")
