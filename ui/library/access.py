"""The run store of this server, opened once and shared by its sessions; a store that cannot be opened leaves the
app working without a library, and says why."""
from __future__ import annotations

import streamlit as st

from ..store.location import store_path
from ..store.store import RunStore, StoreError


@st.cache_resource(show_spinner=False, max_entries=4)
def _open(path: str) -> RunStore:
    return RunStore(path)


def library() -> tuple[RunStore | None, str | None]:
    """The store at `$ALMA_STORE` (or the default location), or None and the reason it cannot be used."""
    try:
        return _open(store_path()), None
    except StoreError as err:
        return None, str(err)
