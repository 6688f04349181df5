"""The session's uploaded models travel with its jobs: a worker registers them before it runs the task, so that
`context.model(name)` finds them like any registry entry."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from alma.models import ModelFile, register_file

from ..jobs import Task, WorkerContext

SESSION_KEY = "own_models"


def session_models() -> dict[str, ModelFile]:
    """This session's uploaded models, by registry name (a hash of the file and its settings)."""
    return st.session_state.setdefault(SESSION_KEY, {})


@dataclass(frozen=True)
class WithModels:
    """`task`, run after registering `files` in the worker."""

    task: Task
    files: tuple[ModelFile, ...]

    def __call__(self, context: WorkerContext) -> Any:
        for model_file in self.files:
            register_file(model_file)
        return self.task(context)


def with_session_models(task: Task) -> Task:
    """`task`, carrying this session's uploaded models when it has any."""
    files = tuple(session_models().values())
    return WithModels(task, files) if files else task
