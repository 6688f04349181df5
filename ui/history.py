"""A session's recent runs, bounded so that memory does not grow run after run (every tensor is on the CPU)."""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import streamlit as st

from .outcome import RunOutcome

CAPACITY = 5
_KEY = "history"


class History:
    """The last `capacity` outcomes, oldest first."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._runs: deque[RunOutcome] = deque(maxlen=capacity)

    def add(self, outcome: RunOutcome) -> None:
        self._runs.append(outcome)

    def latest(self) -> RunOutcome | None:
        return self._runs[-1] if self._runs else None

    def __iter__(self) -> Iterator[RunOutcome]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)


def session_history() -> History:
    """This browser session's history."""
    if _KEY not in st.session_state:
        st.session_state[_KEY] = History()
    return st.session_state[_KEY]
