"""Learning rate (the paper's Figure 3): the schedule of the last run, the formula, and a sandbox."""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from alma.lr import decayed_lr
from ui.figures import lr_chart, trace_frame
from ui.history import session_history

FORMULA = (r"\eta^{(i)} = \begin{cases} \eta^{(0)} & i < s \quad\text{(exploration)} \\"
           r" \eta^{(0)}\, r^{\,(i - s)/(N - s)} & i \ge s \quad\text{(exploitation)} \end{cases}")

st.title("Learning rate")
st.markdown(
    "ALMA picks the initial step size η⁽⁰⁾ per image: a line search finds the η whose first step increases the "
    "distance by ε. The step size then stays constant while the attack **explores** (no adversarial yet). From the "
    "first adversarial step *s* on, it **exploits**: η decays exponentially to r·η⁽⁰⁾ (r = 0.01) at the last step "
    "N, refining the perturbation around the decision boundary.")
st.latex(FORMULA)

latest = session_history().latest()
st.subheader("The last run")
if latest is None:
    st.info("No run yet in this session: run an attack on the Attack explorer page, then come back.",
            icon=":material/info:")
else:
    settings, trace = latest.config.attack, latest.trace
    st.plotly_chart(lr_chart(trace_frame({"": trace}), settings.num_steps), key="lr_last_run")
    first = latest.first_adv_step
    searched = "found by the line search" if settings.lr_search and not bool(trace.lr_search_failed[0]) else \
        "fixed (no search)" if not settings.lr_search else "the fallback (the search could not reach ε)"
    facts = st.columns(4)
    facts[0].metric("η⁽⁰⁾", f"{float(trace.lr_init[0]):.4g}", searched, delta_color="off", delta_arrow="off")
    facts[1].metric("first adversarial step s", "none" if first is None else str(first))
    facts[2].metric("N", str(settings.num_steps))
    facts[3].metric("final η", f"{float(trace.lr[-1, 0]):.4g}")
    if not settings.lr_decay:
        st.caption("This run had the decay switched off: η stayed constant.")

st.subheader("Sandbox")
st.caption("The same formula (alma.lr.decayed_lr) for values you choose.")
left, right = st.columns([1, 2])
with left:
    lr0 = st.number_input("η⁽⁰⁾", min_value=1e-4, value=0.1, format="%g", key="lr_eta0")
    steps = st.number_input("N", min_value=2, value=1000, step=100, key="lr_steps")
    switch = st.slider("first adversarial step s", 0, int(steps) - 1, min(50, int(steps) - 1), key="lr_switch")
    reduction = st.select_slider("r (final η / η⁽⁰⁾)", [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0], 0.01,
                                 key="lr_reduction")
with right:
    lr = torch.tensor([lr0], dtype=torch.float64)
    schedule = [float(decayed_lr(lr, i, torch.tensor([float(switch)], dtype=torch.float64), int(steps),
                                 reduction)[0]) for i in range(int(steps))]
    frame = pd.DataFrame({"run": "", "step": range(int(steps)), "lr": schedule,
                          "is_adv": [i >= switch for i in range(int(steps))]})
    st.plotly_chart(lr_chart(frame, int(steps)), key="lr_sandbox")
