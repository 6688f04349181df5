"""The explorer's URL: its settings and its last run (`?run=<id>`) in `st.query_params`, so that a reload restores
the view and a link reproduces the setup. Attack settings appear only where they differ from the paper's defaults;
an upload is named by its sha256 (the file has to be uploaded again)."""
from __future__ import annotations

import typing
from dataclasses import fields

import streamlit as st

from alma.models import get_info
from alma.samples import list_samples

from ..config import AttackSettings, ConfigError, InputRef, RunConfig
from ..history import session_history
from ..inputs import set_input
from ..store.codec import CodecError, load
from ..store.record import is_run_id
from ..store.store import StoreError
from ..widgets import apply_config
from .access import library
from .saving import remember, saved_id

RUN = "run"
_RESTORED = "library_link_restored"
_PROBLEM = "library_link_problem"
_DEFAULTS = AttackSettings()
_HINTS = typing.get_type_hints(AttackSettings)
_INPUT = ("sample", "upload", "invert")
_CONFIG = ("model", "device", "cpu_threads")


def settings_params(config: RunConfig) -> dict[str, str]:
    """The URL parameters of `config`: model, input, device, threads and the settings off their defaults."""
    params = {"model": config.model}
    source = config.input
    params.update({"sample": source.sample} if source.sample else {"upload": source.sha256})
    if source.invert is not None:
        params["invert"] = _text(source.invert)
    params.update(device=config.device, cpu_threads=str(config.cpu_threads))
    for f in fields(AttackSettings):
        value = getattr(config.attack, f.name)
        if value != getattr(_DEFAULTS, f.name):
            params[f.name] = _text(value)
    return params


def settings_from_params(params: dict[str, str]) -> RunConfig | None:
    """The config a URL describes (None when it names no model); `ConfigError` for a value that is not valid."""
    if "model" not in params:
        return None
    try:
        info = get_info(params["model"])
    except KeyError as err:
        raise ConfigError(str(err).strip("'\"")) from None
    unknown = set(params) - {RUN, *_INPUT, *_CONFIG} - set(_HINTS)
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    invert = _parse("invert", params["invert"], bool | None) if "invert" in params else None
    if "upload" in params:
        source = InputRef(sha256=params["upload"], invert=invert)
    else:
        source = InputRef(sample=params.get("sample") or list_samples(info.dataset)[0], invert=invert)
    settings = {name: _parse(name, params[name], _HINTS[name]) for name in _HINTS if name in params}
    return RunConfig(model=info.name, input=source, attack=AttackSettings(**settings),
                     device=params.get("device", "cpu"),
                     cpu_threads=_parse("cpu_threads", params.get("cpu_threads", "1"), int))


def restore_explorer() -> None:
    """Once per session, before the widgets are drawn: the URL's settings into the widgets and its run (if any) into
    the session's history, so that a reload shows what was there."""
    if st.session_state.get(_RESTORED):
        if problem := st.session_state.get(_PROBLEM):
            st.warning(problem, icon=":material/link_off:")
        return
    st.session_state[_RESTORED] = True
    params = st.query_params.to_dict()
    problems = []
    try:
        config = settings_from_params(params)
    except ConfigError as err:
        config = None
        problems.append(f"The link's settings were not applied ({err}).")
    if config is not None:
        apply_config(config)
        set_input(config.input)
    if (run_id := params.get(RUN)) is not None:
        problems += _reopen(run_id)
    if problems:
        st.session_state[_PROBLEM] = " ".join(problems)
        st.warning(st.session_state[_PROBLEM], icon=":material/link_off:")


def publish_explorer(config: RunConfig | None) -> None:
    """The URL follows the explorer: its settings, and the id of its last run when the library has it."""
    if config is None:
        return
    params = settings_params(config)
    latest = session_history().latest()
    if latest is not None and (run_id := saved_id(latest)) is not None:
        params[RUN] = run_id
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def _reopen(run_id: str) -> list[str]:
    if not is_run_id(run_id):
        return [f"The link's run id {run_id[:40]!r} is not a run id."]
    store, error = library()
    if store is None:
        return [f"The link's run cannot be shown: {error}"]
    try:
        outcome = load(store, run_id)
    except (CodecError, StoreError) as err:
        return [f"The link's run cannot be shown: {err}"]
    if outcome is None:
        return [f"The link's run {run_id[:8]}… is not in this library (deleted, or saved on another machine)."]
    session_history().add(outcome)
    remember(outcome, run_id)
    return []


def _text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(name: str, text: str, hint: object) -> object:
    """`text` as the type `hint` (bool, int, float, str, or one of them | None)."""
    options = typing.get_args(hint) or (hint,)
    if type(None) in options and text.lower() == "none":
        return None
    kind = next(t for t in options if t is not type(None))
    try:
        if kind is bool:
            return {"true": True, "false": False}[text.lower()]
        return kind(text)
    except (KeyError, ValueError):
        raise ConfigError(f"{name}={text!r} is not a valid {kind.__name__}") from None
