"""One saved run, reopened: the explorer's own result view (charts with the step scrubber when the run kept its
iterates, exports, images, predictions, metrics, downloads), and its settings as a link to the explorer."""
from __future__ import annotations

import io
import time
from urllib.parse import urlencode

import streamlit as st
from PIL import Image

from alma.models import ModelInfo, get_info

from ..export_panel import export_panel
from ..models import get_model
from ..outcome import RunOutcome
from ..panels import result_panel
from ..scrubber import PLAY_KEY, SPEED_KEY, STEP_KEY, scrubber
from ..store.codec import CodecError, decode
from ..store.record import RunRecord, is_run_id
from ..store.store import RunStore, StoreError
from .links import settings_params
from .navigation import back_button

_SHOWN = "lib_shown_run"


def reopen(store: RunStore, run_id: str) -> tuple[RunRecord, RunOutcome] | None:
    """The record and the run `run_id`; None, with a message, when it is not there or cannot be read."""
    if not is_run_id(run_id):
        st.error(f"{run_id[:40]!r} is not a run id (32 hex digits).", icon=":material/link_off:")
        return None
    try:
        record = store.record(run_id)
        if record is None:
            st.warning(f"There is no run {run_id[:8]}… in this library: it was deleted, evicted, or saved on "
                       "another machine (export it there as a bundle, and import it here).",
                       icon=":material/search_off:")
            return None
        return record, decode(record)
    except (CodecError, StoreError) as err:
        st.error(f"The run {run_id[:8]}… cannot be shown: {err}", icon=":material/error:")
        return None


def model_info(name: str) -> ModelInfo | None:
    try:
        return get_info(name)
    except KeyError:
        st.error(f"This run attacked the model {name!r}, which this installation does not know.")
        return None


def open_run(store: RunStore, run_id: str) -> None:
    back_button()
    found = reopen(store, run_id)
    if found is None:
        return
    record, outcome = found
    config = outcome.config
    st.subheader(record.name)
    st.caption(f"{config.model} · {config.input.describe()} · {outcome.steps} steps in {outcome.wall_seconds:.2f} s · "
               f"saved {time.strftime('%Y-%m-%d %H:%M', time.localtime(record.created))} · id {record.id}")
    info = model_info(config.model)
    if info is None:
        return
    explorer_link = f"./?{urlencode(settings_params(config))}"
    note = f"[Open these settings in the explorer]({explorer_link})"
    if config.input.sha256:
        note += " (upload the same image there: " + ("download it below)." if record.upload else "it was not kept).")
    st.markdown(note)
    if record.upload:
        name = f"upload_{config.input.sha256[:12]}{_suffix(record.upload)}"
        st.download_button("The uploaded image", record.upload, name, key="lib_upload_download", on_click="ignore",
                           icon=":material/download:")
    if st.session_state.get(_SHOWN) != run_id:  # another run than the scrubber last showed: it starts afresh
        for key in (STEP_KEY, PLAY_KEY, SPEED_KEY):
            st.session_state.pop(key, None)
        st.session_state[_SHOWN] = run_id
    scrubber(outcome, info, get_model(info, "cpu"), key="lib_scrub")
    export_panel({"": outcome}, info, key="lib_export")
    result_panel(outcome, info, key="lib_result")


def _suffix(data: bytes) -> str:
    """The file name extension of an image's bytes (as Pillow reads its header), "" when unknown."""
    try:
        kind = Image.open(io.BytesIO(data)).format
    except (OSError, ValueError):
        return ""
    return f".{kind.lower().replace('jpeg', 'jpg')}" if kind else ""
