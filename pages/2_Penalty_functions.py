"""Penalty functions (the paper's Figure 1): P(y, ρ, μ) and P′ of each available function, and its axioms."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from alma.penalties import PENALTIES
from ui.axioms import check_axioms
from ui.figures import penalty_figure

LOG_VALUES = [float(f"{v:.3g}") for v in np.logspace(-2, 2, 41)]

st.title("Penalty functions")
st.markdown(
    "ALMA turns *“change the prediction”* into a penalty on the constraint value y = c(f(x̃)) (negative when the "
    "image is adversarial). A penalty-Lagrangian function P(y, ρ, μ) adds a cost that grows with the violation; its "
    "derivative P′ is the new multiplier estimate μ̂ of each step. ρ sets how steep P is, μ its slope at the boundary "
    "y = 0. Move the sliders and watch P′ for y < 0 vanish as ρ grows: the attack stops pushing once it is "
    "adversarial, and the distance term takes over.")

with st.sidebar:
    names = st.multiselect("Functions", list(PENALTIES), default=list(PENALTIES), key="penalty_names")
    rho = st.select_slider("ρ (penalty parameter)", LOG_VALUES, value=1.0, key="penalty_rho")
    mu = st.select_slider("μ (multiplier)", LOG_VALUES, value=1.0, key="penalty_mu")

chosen = {name: PENALTIES[name] for name in names}
if not chosen:
    st.info("Pick at least one function in the sidebar.")
else:
    st.plotly_chart(penalty_figure(chosen, rho, mu), key="penalty_chart")

st.subheader("Axioms, checked numerically")
st.caption("On a grid of y ∈ [−3, 3], ρ ∈ {0.5, 1, 4, 20, the slider's} and μ ∈ {0.001, 0.3, 1, 7, the slider's}; "
           "the limits ρ → ∞ are compared at ρ = 1, 10³, 10⁶ (P′ must grow over 10⁴-fold, or fall below 10⁻⁴·μ).")
rows = []
for name, penalty in chosen.items():
    for check in check_axioms(penalty, rho, mu):
        rows.append({"function": name, "axiom": check.axiom, "holds": check.passed,
                     "evidence": check.evidence})
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="penalty_axioms",  # a checkbox, not an emoji glyph
                 column_config={"holds": st.column_config.CheckboxColumn("holds")})

for name, penalty in chosen.items():
    with st.expander(f"{name}: formula"):
        st.latex(penalty.formula)
        st.caption(penalty.description)
