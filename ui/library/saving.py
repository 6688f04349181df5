"""A finished explorer run goes to the library as it lands in the session's history; an uploaded image goes with it
(stored once, by its sha256) only while "Keep uploaded images with saved runs" is on."""
from __future__ import annotations

import hashlib

import streamlit as st

from ..outcome import RunOutcome
from ..store.codec import save
from ..store.store import StoreError
from .access import library

KEEP_UPLOADS = "library_keep_uploads"
_TOGGLE = "library_keep_uploads_toggle"
SAVED = "library_saved"
"""(outcome, run id or None, message or None) of the explorer's last finished run."""
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


def keep(outcome: RunOutcome) -> str | None:
    """Saves `outcome` to the library; returns its id (None when not saved: the reason is shown by `saved_note`)."""
    run_id, message = None, None
    store, error = library()
    sha256 = outcome.config.input.sha256
    if store is None:
        message = f"Not saved to the run library: {error}"
    elif sha256 and not st.session_state.get(KEEP_UPLOADS, True):
        message = "Not saved to the run library: it attacked an uploaded image, and keeping uploads is off."
    else:
        try:
            run_id = save(store, outcome, upload=_upload(sha256) if sha256 else None)
        except StoreError as err:
            message = f"Not saved to the run library: {err}"
    st.session_state[SAVED] = (outcome, run_id, message)
    return run_id


def saved_id(outcome: RunOutcome) -> str | None:
    """The library id of the explorer's `outcome`, when it was saved."""
    saved = st.session_state.get(SAVED)
    return saved[1] if saved is not None and saved[0] is outcome else None


def remember(outcome: RunOutcome, run_id: str) -> None:
    """`outcome` is the saved run `run_id` (reopened from the library)."""
    st.session_state[SAVED] = (outcome, run_id, None)


def saved_note(outcome: RunOutcome) -> None:
    """One line under the explorer's last run: where it was saved, or why it was not."""
    saved = st.session_state.get(SAVED)
    if saved is None or saved[0] is not outcome:
        return
    _, run_id, message = saved
    if run_id is None:
        st.warning(message, icon=":material/warning:")
        return
    note, link = st.columns([3, 1], vertical_alignment="center")
    note.caption(f"Saved to the run library (id {run_id[:8]}…); this page's URL now links to it.")
    link.page_link(RUNS_PAGE, label="Open it on the Runs page", icon=":material/inventory_2:",
                   query_params={"run": run_id})


def _upload(sha256: str) -> bytes | None:
    """The bytes of the explorer's current upload, when they are the image this run attacked."""
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is None:
        return None
    data = upload.getvalue()
    return data if hashlib.sha256(data).hexdigest() == sha256 else None
