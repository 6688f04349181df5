"""How ALMA works: Algorithm 2 of the paper line by line, each line tied to the chart of the last run showing it."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from alma import distances
from alma.penalties import PENALTIES
from ui import figures
from ui.history import session_history
from ui.images import image_png
from ui.outcome import RunOutcome

latest = session_history().latest()
frame = figures.trace_frame({"": latest.trace}) if latest is not None else None


def chart(build: Callable, key: str) -> Callable[[RunOutcome], None]:
    def show(outcome: RunOutcome) -> None:
        settings = outcome.config.attack
        args = (distances.get(settings.distance).label,) if build is figures.distance_chart else ()
        st.plotly_chart(build(frame, settings.num_steps, *args), key=key)
    return show


def images(outcome: RunOutcome) -> None:
    for column, (image, caption) in zip(st.columns(2), ((outcome.clean, "x: the original"),
                                                         (outcome.adversarial, "x̃: the best adversarial"))):
        column.image(image_png(image), caption=caption, output_format="PNG")


def calls(outcome: RunOutcome) -> None:
    st.markdown(f"This run: N = {outcome.config.attack.num_steps}; {outcome.num_forwards} forwards and "
                f"{outcome.num_backwards} backwards, one of each per step.")


def penalty(outcome: RunOutcome) -> None:
    chosen = PENALTIES[outcome.config.attack.penalty]
    st.latex(chosen.formula)
    st.caption(f"{chosen.name}: {chosen.description} Explore it on the Penalty functions page.")


LINES: list[tuple[str, str, Callable[[RunOutcome], None] | None]] = [
    (r"\tilde{x}^{(0)} \leftarrow x", "Start from the clean image.", images),
    (r"\textbf{for } i \leftarrow 0 \textbf{ to } N - 1", "A fixed budget of N steps.", calls),
    (r"z \leftarrow f(\tilde{x}^{(i)})", "One forward pass of the classifier.", None),
    (r"d^{(i)} \leftarrow \mathrm{DLR}^{+}(z, y)",
     "The constraint: a scale-free logit ratio, negative exactly when x̃ is adversarial.",
     chart(figures.constraint_chart, "how_constraint")),
    (r"\hat{\mu} \leftarrow \nabla_d P(d^{(i)}, \rho^{(i)}, \mu^{(i)})",
     "The penalty's derivative is the new multiplier estimate.", penalty),
    (r"\mu^{(i+1)} \leftarrow \mathcal{P}_{[\mu_{\min}, \mu_{\max}]}\left[\alpha \mu^{(i)} + (1 - \alpha)\hat{\mu}"
     r"\right]", "The EMA smooths μ, which would otherwise spike (see EMA on/off).",
     chart(figures.mu_chart, "how_mu")),
    (r"L \leftarrow D(\tilde{x}^{(i)}, x) + P(d^{(i)}, \rho^{(i)}, \mu^{(i+1)})",
     "The loss: the distance plus the penalty (step 0 uses the penalty alone, as the reference code does).",
     chart(figures.distance_chart, "how_distance")),
    (r"g \leftarrow \nabla_{\tilde{x}} L", "One backward pass.", chart(figures.grad_norm_chart, "how_grad")),
    (r"\tilde{x}^{(i+1)} \leftarrow \mathcal{P}_{[0, 1]}\left[\tilde{x}^{(i)} - \eta^{(i)} g\right]",
     "A step (RMSProp with momentum in practice) of size η, then clamp to valid pixels; η decays once an "
     "adversarial is found (see Learning rate).", chart(figures.lr_chart, "how_lr")),
    (r"\textbf{if } (i + 1) \bmod M = 0 \textbf{ and no adversarial so far and } d^{(i)} > \tau d^{(i - M)}"
     r"\textbf{ then } \rho^{(i+1)} \leftarrow \gamma \rho^{(i)}",
     "If the constraint did not improve enough in M steps, the penalty gets steeper.",
     chart(figures.rho_chart, "how_rho")),
    (r"\textbf{return } \tilde{x}^{(i)} \textbf{ adversarial with the smallest } D(\tilde{x}^{(i)}, x)",
     "The best adversarial iterate is kept along the way (the thick line of the distance chart).", images),
]

st.title("How ALMA works")
st.markdown(
    "ALMA looks for the smallest perturbation, measured by a distance D, that changes the prediction: "
    "min D(x̃, x) subject to c(f(x̃)) < 0 and x̃ ∈ [0, 1]. It solves this constrained problem with an **augmented "
    "Lagrangian** whose inner and outer loops are merged into one fixed budget of N steps, the multiplier μ "
    "updated every step and smoothed by an EMA. Below is Algorithm 2 of the paper; open a line to see it at work in "
    "your last run.")
if latest is None:
    st.info("Run an attack on the Attack explorer page to see each line in your own run.", icon=":material/info:")

for number, (latex, explanation, show) in enumerate(LINES, start=1):
    st.latex(rf"\small {number}:\quad {latex}")
    if show is None or latest is None:
        st.caption(explanation)
        continue
    with st.expander(explanation):
        show(latest)
