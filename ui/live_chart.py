"""Plotly charts that a running attack redraws in place.

`st.plotly_chart` derives the element's identity from the figure, so the browser mounts every new figure afresh
(blank until drawn). The small component here keeps one Plotly chart per key and updates it with `Plotly.react`,
using the plotly.js of the installed plotly package, which Streamlit serves (no CDN: it works offline).
"""
from __future__ import annotations

from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components_v1
import streamlit.components.v2 as components_v2

from .figures import HEIGHT

CONFIG = {"displaylogo": False}
_PLOTLY_JS = components_v1.declare_component("plotly_js", path=str(Path(plotly.__file__).parent / "package_data"))
PLOTLY_JS_URL = f"./component/{_PLOTLY_JS.name}/plotly.min.js"
_JS = """
export default function({ parentElement, data }) {
    window.__almaPlotly ??= new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = data.src;
        script.onload = () => resolve(window.Plotly);
        script.onerror = reject;
        document.head.appendChild(script);
    });
    let plot = parentElement.querySelector(".alma-live-chart");
    if (!plot) {
        plot = document.createElement("div");
        plot.className = "alma-live-chart";
        parentElement.appendChild(plot);
    }
    const figure = JSON.parse(data.figure);
    window.__almaPlotly.then(Plotly => Plotly.react(plot, figure.data, figure.layout, data.config));
}
"""
_live_chart = components_v2.component("alma_live_chart", js=_JS, isolate_styles=False)
LIVE_LAYOUT = dict(template="plotly_white", font=dict(family="Source Sans Pro, sans-serif", color="#31333F"),
                   xaxis=dict(automargin=True), yaxis=dict(automargin=True))
"""Close to Streamlit's own theme for Plotly, which only `st.plotly_chart` applies."""


def chart(fig: go.Figure, key: str, live: bool = False) -> None:
    """`fig` under a fixed `key`: with `st.plotly_chart`, or, `live`, updated in place on each redraw."""
    if not live:
        st.plotly_chart(fig, config=CONFIG, key=key)
        return
    fig.update_layout(LIVE_LAYOUT)
    _live_chart(key=key, height=HEIGHT, data={"figure": fig.to_json(validate=False), "src": PLOTLY_JS_URL,
                                              "config": {**CONFIG, "responsive": True}})
