"""Helpers for the Streamlit AppTest tests: open a page, run an attack to its end, read what the browser is sent."""
from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the pages import `ui` from the repository root, as `streamlit run app.py` does
    sys.path.insert(0, str(REPO))

TIMEOUT = 60.0
"""Seconds a script run, or an attack followed to its end, may take."""
POLL_S = 0.05
"""Pause between two reruns of a page that follows a running attack (AppTest does not rerun its fragment on a timer,
so the tests rerun the page: each run draws the job's latest snapshot, as a timed rerun of the fragment would)."""


def explorer(steps: int = 30) -> AppTest:
    """The app's main page with the bundled default model, the first sample and `steps` custom steps."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    at.button_group(key="steps").set_value("custom").run()
    at.number_input(key="custom_steps").set_value(steps).run()
    return at


def rerun_until(at: AppTest, done: Callable[[AppTest], bool], what: str, timeout: float = TIMEOUT) -> AppTest:
    """Reruns the page until `done(at)`, as the live view's timer would."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert not at.exception, at.exception
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(POLL_S)
        at.run()
    assert not at.exception, at.exception
    return at


def finish(at: AppTest, run_key: str, timeout: float = TIMEOUT) -> AppTest:
    """Reruns the page until its background attack job has ended and the page has taken its result."""
    return rerun_until(at, lambda at: run_key not in at.session_state, f"the end of the attack of {run_key}", timeout)


def metrics(at: AppTest) -> dict[str, str]:
    """Every st.metric on the page: label → value."""
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> list[dict[str, Any]]:
    """The Plotly figures on the page, as the JSON the browser gets."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def chart_data(at: AppTest, key: str) -> dict[str, Any]:
    """The data the page sent to its chart component of this key (see `ui.live_chart`)."""
    found = [json.loads(c.proto.json) for c in at.get("bidi_component")
             if c.proto.component_name.endswith("alma_live_charts") and c.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, f"{len(found)} chart components with key {key}"
    return found[0]


def values(array: Any) -> np.ndarray:
    """A Plotly JSON array (a list, or typed base64 data)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


class _Served:
    """What the app sent to the browser as media files (images, downloads), by URL."""

    def __init__(self) -> None:
        self.storages: list[MemoryMediaFileStorage] = []

    def __call__(self, url: str) -> bytes:
        name = url.rsplit("/", 1)[-1]
        for storage in reversed(self.storages):
            try:
                return storage.get_file(name).content
            except MediaFileStorageError:  # served in another run
                continue
        raise KeyError(f"{url} was not served")


@pytest.fixture(scope="session", autouse=True)
def warm_workers() -> None:
    """The shared worker pool, started once with its workers ready (as `streamlit run app.py` starts it)."""
    from ui.jobs import pool

    deadline = time.monotonic() + 180
    while not pool().workers("cpu"):
        assert time.monotonic() < deadline, "no worker process became ready in 180 s"
        time.sleep(0.1)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Served]:
    """`served(url)` → the bytes the app served at `url` (AppTest makes a new media storage for each run)."""
    record = _Served()

    class Recorded(MemoryMediaFileStorage):
        def __init__(self, endpoint: str) -> None:
            super().__init__(endpoint)
            record.storages.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", Recorded)
    yield record
