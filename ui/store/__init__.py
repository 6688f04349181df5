"""The run library: every finished run kept in an embedded SQLite store, and bundles to move runs between machines.

Nothing here imports Streamlit: `ui.library` draws the Runs page on top of it.
"""
from .bundle import BundleError, ImportReport, export_bundle, import_bundle
from .codec import RunRecord, decode, encode
from .location import default_path, store_path
from .store import RunStore, RunSummary, StoreError

__all__ = ["BundleError", "ImportReport", "RunRecord", "RunStore", "RunSummary", "StoreError", "decode",
           "default_path", "encode", "export_bundle", "import_bundle", "store_path"]
