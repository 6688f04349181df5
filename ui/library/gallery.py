"""The gallery of saved runs: filter and sort, and per run its thumbnail, model, distance, final D, steps, date and
pin, with Open, Pin, Select (for Compare and Export), Rename and Delete."""
from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from alma import distances

from ..store.store import RunStore, RunSummary, StoreError
from .navigation import MESSAGE, show

COLUMNS = 4
SORTS: dict[str, Callable[[RunSummary], object]] = {
    "Newest first": lambda r: -r.created, "Oldest first": lambda r: r.created,
    "Smallest final D": lambda r: r.final_distance, "Name": lambda r: r.name.lower(), "Most steps": lambda r: -r.steps}


def distance_label(name: str) -> str:
    try:
        return distances.get(name).label
    except (KeyError, ValueError):
        return name


def select_key(run_id: str) -> str:
    return f"lib_select_{run_id}"


def selected(runs: list[RunSummary]) -> list[str]:
    """The ids of the runs ticked in the gallery, in the gallery's order."""
    return [r.id for r in runs if st.session_state.get(select_key(r.id))]


def filtered(runs: list[RunSummary]) -> list[RunSummary]:
    """The filter and sort row, and the runs it keeps, in its order."""
    text_col, model_col, distance_col, sort_col, pinned_col = st.columns([3, 2, 2, 2, 1.4], vertical_alignment="bottom")
    text = text_col.text_input("Filter", key="lib_filter", placeholder="name, model or input contains…")
    models = model_col.multiselect("Model", sorted({r.model for r in runs}), key="lib_models")
    kinds = distance_col.multiselect("Distance", sorted({r.distance for r in runs}), key="lib_distances",
                                     format_func=distance_label)
    order = sort_col.selectbox("Sort", list(SORTS), key="lib_sort")
    pinned_only = pinned_col.toggle("Pinned only", key="lib_pinned_only")
    needle = text.strip().lower()
    kept = [r for r in runs if (not needle or needle in f"{r.name} {r.model} {r.input}".lower())
            and (not models or r.model in models) and (not kinds or r.distance in kinds)
            and (r.pinned or not pinned_only)]
    return sorted(kept, key=SORTS[order])


def gallery(store: RunStore, runs: list[RunSummary]) -> None:
    """The cards of `runs`, `COLUMNS` per row."""
    for row in range(0, len(runs), COLUMNS):
        for column, run in zip(st.columns(COLUMNS), runs[row:row + COLUMNS]):
            with column.container(border=True):
                _card(store, run)


def _card(store: RunStore, run: RunSummary) -> None:
    if run.thumbnail:
        st.image(run.thumbnail, width=96)
    st.markdown(f"**{run.name}**" + (" :material/push_pin:" if run.pinned else ""))
    final = f"{distance_label(run.distance)} = {run.final_distance:.4g}" if run.success else "no adversarial"
    st.caption(f"{run.model} · {run.input}  \n{final} · {run.steps} steps · "
               f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(run.created))}")
    open_col, pin_col = st.columns(2)
    open_col.button("Open", key=f"lib_open_{run.id}", on_click=show, args=({"run": run.id},), width="stretch")
    pin_col.button("Unpin" if run.pinned else "Pin", key=f"lib_pin_{run.id}", on_click=_act, icon=":material/push_pin:",
                   args=(store.set_pinned, run.id, not run.pinned), width="stretch",
                   help="A pinned run is never evicted.")
    select_col, edit_col = st.columns(2, vertical_alignment="center")
    select_col.checkbox("Select", key=select_key(run.id), help="Select two to compare, or any to export.")
    with edit_col.popover("Edit", icon=":material/edit:", width="stretch"):
        name_key = f"lib_name_{run.id}"
        st.session_state.setdefault(name_key, run.name)
        st.text_input("Name", key=name_key, max_chars=200)
        st.button("Rename", key=f"lib_rename_{run.id}", on_click=_rename, args=(store, run.id, name_key))
        st.button("Delete for good", key=f"lib_delete_{run.id}", type="primary", icon=":material/delete:",
                  on_click=_act, args=(store.delete, run.id))


def _rename(store: RunStore, run_id: str, name_key: str) -> None:
    name = str(st.session_state.get(name_key, "")).strip()
    if not name:
        st.session_state[MESSAGE] = "A run needs a name: it was not renamed."
        return
    _act(store.rename, run_id, name)


def _act(action: Callable[..., bool], *args: object) -> None:
    """A store action from a button; its failure becomes the page's message."""
    try:
        action(*args)
    except StoreError as err:
        st.session_state[MESSAGE] = str(err)
