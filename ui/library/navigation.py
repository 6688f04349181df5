"""Where the Runs page is: the gallery, one run (`?run=<id>`) or two side by side (`?compare=<id>,<id>`); the URL
says it, so that a reload or a link shows the same."""
from __future__ import annotations

import streamlit as st

RUN, COMPARE = "run", "compare"
MESSAGE = "lib_message"
"""A message for the next run of the page (a failed action in a callback)."""


def show(params: dict[str, str]) -> None:
    """Go to the view these URL parameters name (empty: the gallery)."""
    st.query_params.from_dict(params)


def back_button() -> None:
    st.button("All runs", key="lib_back", on_click=show, args=({},), icon=":material/arrow_back:")
