"""The run library: every finished run kept in an embedded SQLite store, and bundles to move runs between machines.

`store.RunStore` keeps `record.RunRecord`s (JSON and bytes: it needs neither torch nor Streamlit, so that writer
processes start fast); `codec` turns a run into a record and back, checking every part; `bundle` exports and
imports zip files of records; `location` says where the store lives. `ui.library` draws the Runs page on top.
"""
