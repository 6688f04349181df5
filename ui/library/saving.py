"""A finished explorer run goes to the library as it lands in the session's history (written in a thread while the
page draws it); an uploaded image goes with it (stored once, by its sha256) only while "Keep uploaded images with
saved runs" is on."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ..errors import user_message
from ..outcome import RunOutcome
from ..store.codec import encode
from ..store.record import new_id
from ..store.store import RunStore, StoreError
from .access import library

KEEP_UPLOADS = "library_keep_uploads"
_TOGGLE = "library_keep_uploads_toggle"
SAVED = "library_saved"
RUNS_PAGE = "pages/7_Runs.py"
UPLOAD_KEY = "upload"
"""The explorer's image uploader."""


def keep_uploads_toggle() -> None:
    """The visible setting; on by default (a local app keeps what its user made)."""
    st.session_state.setdefault(KEEP_UPLOADS, True)
    st.toggle("Keep uploaded images with saved runs", value=st.session_state[KEEP_UPLOADS], key=_TOGGLE,
              on_change=lambda: st.session_state.update({KEEP_UPLOADS: st.session_state[_TOGGLE]}),
              help="Every finished run is saved to the run library (Runs page). Off: runs of uploaded images are not "
                   "saved, and no uploaded image is written anywhere.")


@dataclass
class _Saving:
    """The explorer's last finished run and its place in the library: `run_id` (chosen when it finished) while it is
    written or once written, else None and `message` says why; `writer` while it is written."""

    outcome: RunOutcome
    run_id: str | None
    message: str | None = None
    writer: threading.Thread | None = field(default=None, repr=False)
    slot: Any = field(default=None, repr=False)


def keep(outcome: RunOutcome) -> None:
    """Starts writing `outcome` to the library in a thread of the server: the page draws the result meanwhile, and
    the write completes even if the session goes away (a reload); `finish_saving` waits for it."""
    sha256 = outcome.config.input.sha256
    if sha256 and not st.session_state.get(KEEP_UPLOADS, True):
        message = "Not saved to the run library: it attacked an uploaded image, and keeping uploads is off."
        st.session_state[SAVED] = _Saving(outcome, None, message)
        return
    saving = _Saving(outcome, new_id())
    store, error = library()
    saving.writer = threading.Thread(target=_write, args=(saving, store, error, _upload(sha256) if sha256 else None),
                                     name="alma-save-run")
    saving.writer.start()
    st.session_state[SAVED] = saving


def finish_saving() -> None:
    """Waits for the write `keep` started, and puts its note in the place `saved_note` kept for it."""
    saving: _Saving | None = st.session_state.get(SAVED)
    if saving is None or saving.writer is None:
        return
    saving.writer.join()
    saving.writer = None
    if saving.slot is not None:
        with saving.slot.container():
            _note(saving)


def _write(saving: _Saving, store: RunStore | None, error: str | None, upload: bytes | None) -> None:
    try:
        if store is None:
            raise StoreError(error)
        store.put(encode(saving.outcome, run_id=saving.run_id, upload=upload))
    except Exception as err:  # a store error, or anything else: the run stays shown, the note says why
        saving.message = f"Not saved to the run library: {err if isinstance(err, StoreError) else user_message(err)}"
        saving.run_id = None


def saved_id(outcome: RunOutcome) -> str | None:
    """The library id of the explorer's `outcome`, when it is saved (or being saved)."""
    saving: _Saving | None = st.session_state.get(SAVED)
    return saving.run_id if saving is not None and saving.outcome is outcome else None


def remember(outcome: RunOutcome, run_id: str) -> None:
    """`outcome` is the saved run `run_id` (reopened from the library)."""
    st.session_state[SAVED] = _Saving(outcome, run_id)


def saved_note(outcome: RunOutcome) -> None:
    """One line under the explorer's last run: where it was saved, or why it was not."""
    saving: _Saving | None = st.session_state.get(SAVED)
    if saving is None or saving.outcome is not outcome:
        return
    saving.slot = st.empty()
    with saving.slot.container():
        _note(saving)


def _note(saving: _Saving) -> None:
    if saving.writer is not None:
        st.caption("Saving to the run library…")
    elif saving.run_id is None:
        st.warning(saving.message, icon=":material/warning:")
    else:
        note, link = st.columns([3, 1], vertical_alignment="center")
        note.caption(f"Saved to the run library (id {saving.run_id[:8]}…); this page's URL now links to it.")
        link.page_link(RUNS_PAGE, label="Open it on the Runs page", icon=":material/inventory_2:",
                       query_params={"run": saving.run_id})


def _upload(sha256: str) -> bytes | None:
    """The bytes of the explorer's current upload, when they are the image this run attacked."""
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is None:
        return None
    data = upload.getvalue()
    return data if hashlib.sha256(data).hexdigest() == sha256 else None
