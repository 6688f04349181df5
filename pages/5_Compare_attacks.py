"""Compare attacks: ALMA beside adv_lib's baselines on one image or a few, with one budget, measured the same way."""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch
from torch import Tensor

from alma import distances
from alma.compare import ATTACKS, AttackRun, samples_frame
from alma.images import to_model_input
from alma.models import ModelInfo
from alma.samples import list_samples, load_sample
from ui import live
from ui.compare import queries_figure, robust_accuracy_figure
from ui.comparison import RUNS, CompareTask, Comparison
from ui.errors import user_message
from ui.images import image_png
from ui.inputs import input_picker, model_view
from ui.jobs import Phase, Snapshot
from ui.models import default_cpu_threads, get_model
from ui.panels import class_name
from ui.text import markdown_text
from ui.widgets import model_picker

PREFIX, RUN_KEY, RESULT_KEY = "cmp_", "cmp_job", "cmp_result"
BUDGETS = ("10", "100", "1000")
INPUTS = ("One image", "Every sample")
DEFAULT_ATTACKS = ["alma-l2", "ddn", "fmn-l2", "alma-l1", "fmn-l1"]
PER_ROW = 6


def _init(key: str, default: object, options: list | tuple | None = None) -> None:
    if key not in st.session_state or (options is not None and st.session_state[key] not in options):
        st.session_state[key] = default


def _every_sample(info: ModelInfo) -> Tensor | None:
    try:
        return torch.cat([to_model_input(load_sample(name), info) for name in list_samples(info.dataset)])
    except Exception as err:  # a sample that cannot be built: a message, the page goes on
        st.error(user_message(err))
        return None


def _table(runs: list[AttackRun], one: bool) -> pd.DataFrame:
    return pd.DataFrame([{
        "attack": run.label, "distance": distances.get(run.distance).label,
        "success": ("yes" if run.asr else "no") if one else f"{100 * run.asr:.0f} %",
        ("D" if one else "median D") + " (inf: failed)": float(f"{run.median:.4g}"),
        "forwards / sample": run.forwards, "backwards / sample": run.backwards, "time (s)": round(run.seconds, 2),
    } for run in runs])


def _adversarials(result: Comparison, info: ModelInfo) -> None:
    index = 0
    if len(result.images) > 1:
        index = st.selectbox("Sample", range(len(result.images)), key=f"{PREFIX}shown",
                             format_func=lambda i: f"sample {i + 1} ({class_name(info, int(result.labels[i]))})")
    images = [(result.images[index], f"original: {class_name(info, int(result.labels[index]))}")]
    for run in result.runs:
        value = float(run.distances[index])
        verdict = f"{distances.get(run.distance).label} = {value:.3g}" if bool(run.success[index]) else "failed"
        images.append((run.adv_inputs[index], f"{run.label}: {verdict}"))
    for row in range(0, len(images), PER_ROW):
        for column, (image, caption) in zip(st.columns(PER_ROW), images[row:row + PER_ROW]):
            column.image(image_png(image), caption=caption, output_format="PNG")


def _draw_live(run: live.ActiveRun, snapshot: Snapshot) -> None:
    """Each attack's progress (forwards per sample so far) and the table of the attacks finished so far."""
    names: tuple[str, ...] = run.context
    runs, errors = snapshot.published.get(RUNS, ([], []))
    ended = len(runs) + len(errors)
    current = names[min(ended, len(names) - 1)]
    done, total = snapshot.progress.get(current, (0, 0))
    if snapshot.phase is Phase.WAITING:
        live.status(run, snapshot)
    else:
        within = f"{done} of {total} forwards per sample" if total else f"{done} forwards per sample"
        state = "stopping" if snapshot.stopped else "running"
        st.progress(min((ended + (done / total if total else 0)) / len(names), 1.0),
                    text=f"{state} · attack {ended + 1} of {len(names)}: {ATTACKS[current].label} · {within} · "
                         f"{snapshot.active_seconds:.1f} s")
    for message in errors:
        st.error(message, icon=":material/error:")
    if runs:
        st.dataframe(_table(runs, len(runs[0].success) == 1), hide_index=True, key=f"{PREFIX}live_table")


def _keep_result(result: Comparison | None) -> None:
    if result is not None:
        st.session_state[RESULT_KEY] = result


st.title("Compare attacks")
st.markdown(
    "ALMA is a general attack: one algorithm for any distance. How does it fare against attacks built for one "
    "distance? Here it runs beside **adv_lib**'s implementations of DDN, FMN, FAB, C&W, APGD-T (with a binary search) "
    "and PerC-AL, and beside adv_lib's own ALMA, with the same budget N. Every attack is measured the same way: "
    "success is the model's prediction on the returned image, the distance is computed here, and forwards / "
    "backwards through the model are counted per sample. The attacks move each image away from the model's own "
    "prediction. Runs on the CPU; C&W (9 × 10N iterations) and APGD-T (many APGD runs) are far slower than the rest.")

with st.sidebar:
    info = model_picker(PREFIX, datasets=("mnist", "cifar10"))
    _init(f"{PREFIX}attacks", DEFAULT_ATTACKS)
    names = st.multiselect("Attacks", list(ATTACKS), key=f"{PREFIX}attacks", format_func=lambda n: ATTACKS[n].label)
    _init(f"{PREFIX}budget", "100", BUDGETS)
    budget = int(st.segmented_control("Budget N", BUDGETS, key=f"{PREFIX}budget", required=True,
                                      help="The paper compares at 100 and 1000."))
    for name in names:
        st.caption(f"{ATTACKS[name].label}: {ATTACKS[name].budget}")
model = get_model(info, "cpu")

left, right = st.columns([3, 2], gap="large")
with left:
    _init(f"{PREFIX}inputs", INPUTS[0], INPUTS)
    what = st.segmented_control("Images", INPUTS, key=f"{PREFIX}inputs", required=True,
                                help="One image (a sample or an upload), or every sample of the model's dataset.")
    if what == INPUTS[0]:
        chosen = input_picker(info, PREFIX)
        images = None if chosen is None else chosen.image.unsqueeze(0)
    else:
        images = _every_sample(info)
with right:
    if images is not None:
        model_view(images[0], info)
        if len(images) > 1:
            st.caption(f"and {len(images) - 1} more")

if not names:
    st.info("Pick at least one attack in the sidebar.", icon=":material/info:")
ready = images is not None and model is not None and bool(names)
run = live.active_run(RUN_KEY)
live.run_button(RUN_KEY, "Run the attacks", f"{PREFIX}run", (lambda: live.start(
    RUN_KEY, CompareTask(info.name, images, tuple(names), budget), "cpu", default_cpu_threads(info), len(names),
    context=tuple(names))) if ready else None)
if run is not None:
    live.follow(RUN_KEY, _draw_live, _keep_result)

result: Comparison | None = st.session_state.get(RESULT_KEY)
if run is None and result is not None and result.model == info.name:
    st.subheader("Result")
    stopped = " · stopped: the attacks after the one running at Stop were not run" if result.stopped else ""
    st.caption(f"{markdown_text(result.model)} · {len(result.images)} image(s) · budget {result.budget}{stopped}")
    for message in result.errors:
        st.error(markdown_text(message), icon=":material/error:")
    if result.runs:
        st.dataframe(_table(result.runs, len(result.images) == 1), hide_index=True, key=f"{PREFIX}table")
        st.plotly_chart(robust_accuracy_figure(samples_frame(result.runs), "Robust accuracy against the budget"),
                        key=f"{PREFIX}curves")
        st.plotly_chart(queries_figure(result.runs, result.curves, "Best distance found against the queries spent"),
                        key=f"{PREFIX}queries")
        _adversarials(result, info)
