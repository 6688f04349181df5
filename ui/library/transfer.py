"""Moving runs between machines: the selected runs as one bundle file, and a bundle imported with a report of what
was added and what was skipped, and why."""
from __future__ import annotations

import streamlit as st

from ..store.bundle import BundleError, export_bundle, import_bundle
from ..store.store import RunStore, StoreError

_BUNDLE, _REPORT, _UPLOADER = "lib_bundle", "lib_import_report", "lib_import"


def export_control(store: RunStore, selected: list[str]) -> None:
    """Make the bundle of the selected runs; then offer it for download (until the selection changes)."""
    label = f"Export {len(selected)} selected" if selected else "Export selected"
    if st.button(label, key="lib_export_bundle", disabled=not selected, icon=":material/archive:",
                 help="One zip file (JSON, npz, PNG) to import on another machine."):
        try:
            records = [record for run_id in selected if (record := store.record(run_id)) is not None]
            st.session_state[_BUNDLE] = (tuple(selected), export_bundle(records))
        except StoreError as err:
            st.error(str(err))
    made = st.session_state.get(_BUNDLE)
    if made is not None and made[0] == tuple(selected):
        st.download_button(f"Download the bundle ({len(made[1]) / 2**20:.1f} MB)", made[1], "alma_runs.zip",
                           "application/zip", key="lib_bundle_download", on_click="ignore",
                           icon=":material/download:")


def import_control(store: RunStore) -> None:
    st.file_uploader("Import runs (a bundle .zip)", type=["zip"], key=_UPLOADER, on_change=_import, args=(store,),
                     help="A bundle exported from the Runs page of this explorer, here or on another machine.")
    report = st.session_state.get(_REPORT)
    if report is None:
        return
    error, imported, skipped = report
    if error:
        st.error(error, icon=":material/error:")
    if imported:
        st.success(f"Imported {len(imported)} run{'s' if len(imported) > 1 else ''}: {', '.join(imported)}.",
                   icon=":material/check_circle:")
    if skipped:
        st.warning(f"Skipped {len(skipped)}:\n" + "\n".join(f"- {reason}" for reason in skipped),
                   icon=":material/warning:")


def _import(store: RunStore) -> None:
    upload = st.session_state.get(_UPLOADER)
    if upload is None:
        return
    try:
        report = import_bundle(store, upload.getvalue())
    except BundleError as err:
        st.session_state[_REPORT] = (str(err), [], [])
        return
    st.session_state[_REPORT] = (None, [name for _, name in report.imported], report.skipped)
