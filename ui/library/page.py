"""The Runs page: the gallery of saved runs, one run reopened, or two compared, as the URL says."""
from __future__ import annotations

import streamlit as st

from ..store.location import ENV
from ..store.store import StoreError
from .access import library
from .compare import compare_runs
from .gallery import filtered, gallery, selected
from .navigation import COMPARE, MESSAGE, RUN, show
from .transfer import export_control, import_control
from .view import open_run


def runs_page() -> None:
    st.title("Runs")
    store, error = library()
    if store is None:
        st.error(error, icon=":material/database:")
        return
    if message := st.session_state.pop(MESSAGE, None):
        st.error(message, icon=":material/error:")
    params = st.query_params
    if run_id := params.get(RUN):
        open_run(store, run_id)
        return
    try:
        runs = store.list()
        size = store.total_bytes()
    except StoreError as err:
        st.error(str(err), icon=":material/database:")
        return
    if pair := params.get(COMPARE):
        compare_runs(store, runs, pair.split(","))
        return
    st.caption(f"Every finished run of the explorer is kept here: {len(runs)} run{'s' * (len(runs) != 1)}, "
               f"{size / 2**20:.1f} MB of {store.max_bytes / 2**20:.0f} MB (the oldest unpinned runs go first) in "
               f"`{store.path}` (set {ENV} to use another file).")
    shown = filtered(runs)
    chosen = selected(shown)
    compare_col, export_col, import_col = st.columns([1, 1, 2])
    with compare_col:
        st.button("Compare the two selected", key="lib_compare", disabled=len(chosen) != 2,
                  icon=":material/compare:", on_click=show, args=({COMPARE: ",".join(chosen)},),
                  help="Select exactly two runs.")
    with export_col:
        export_control(store, chosen)
    with import_col:
        import_control(store)
    if not runs:
        st.info("No saved runs yet: run an attack on the explorer page, and it appears here.",
                icon=":material/inventory_2:")
    elif not shown:
        st.info("No run matches the filter.", icon=":material/filter_alt_off:")
    gallery(store, shown)
