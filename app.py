"""ALMA Explorer: attack an image live with ALMA and watch every internal quantity (`streamlit run app.py`).

This file is the entry point (page setup and navigation) and the main page, the attack explorer; the other pages
live in `pages/`, the shared machinery in `ui/`.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from alma.distances import get as get_distance
from alma.models import ModelInfo, get_info
from ui import library, live
from ui.config import AttackSettings, ConfigError, InputRef, RunConfig
from ui.errors import user_message
from ui.export_panel import export_panel
from ui.history import session_history
from ui.inputs import ChosenInput, input_picker, model_view, set_input, true_class_choice
from ui.jobs import Phase, Snapshot, pool
from ui.live_chart import live_charts, preload
from ui.models import get_model
from ui.outcome import ExplorerTask, Prediction, RunOutcome, predict
from ui.panels import class_name, result_panel
from ui.scrubber import paused_iterate, scrubber
from ui.text import markdown_text
from ui.widgets import EIGHT_BIT, apply_config, attack_settings, device_picker, model_picker

PAGES_DIR = Path(__file__).resolve().parent / "pages"
PAGE_ICONS = {"EMA_on_off": ":material/stacked_line_chart:", "Penalty_functions": ":material/functions:",
              "Learning_rate": ":material/trending_down:", "How_ALMA_works": ":material/school:",
              "Compare_attacks": ":material/compare_arrows:", "Geometry": ":material/scatter_plot:",
              "Runs": ":material/inventory_2:"}
PAGE_TITLES = {"EMA_on_off": "EMA on/off", "How_ALMA_works": "How ALMA works"}
# The paper's settings, in 8-bit levels: the downloaded PNG is then the adversarial found (see
# `ui.widgets.quantisation_choice`; the paper's continuous images are one click away).
EXPLORER_DEFAULTS = AttackSettings(levels=EIGHT_BIT)
RUN_KEY = "explorer_run"
PENDING_KEY = "pending_config"
PIXELATED_IMAGES = "<style>[data-testid='stImage'] img {image-rendering: pixelated;}</style>"
# A file, not a `:material/…:` icon: Streamlit fetches such favicons from fonts.gstatic.com (the app works offline).
FAVICON = Path(__file__).resolve().parent / "ui" / "assets" / "favicon.png"


def _load_config() -> None:
    """Callback of the config uploader: set every widget to the config, then the page reruns it."""
    upload = st.session_state.get("config_file")
    if upload is None:
        return
    try:
        config = RunConfig.from_json(upload.getvalue())
    except ConfigError as err:
        st.session_state["config_error"] = str(err)
        return
    st.session_state.pop("config_error", None)
    apply_config(config)
    set_input(config.input)
    st.session_state[PENDING_KEY] = config


def _use_cpu() -> None:
    st.session_state["device"] = "cpu"


def _use_100_steps() -> None:
    st.session_state["steps"] = "100"


def _clean_prediction_caption(model, chosen: ChosenInput, info: ModelInfo,
                              device: str) -> tuple[Prediction | None, InputRef]:
    """Says what the model predicts for the input; returns the prediction (None when the model cannot take it) and
    the input reference to attack (from the true class, when the user says so)."""
    memo_key = (info.name, device, chosen.ref, chosen.image.shape)
    memo = st.session_state.get("clean_prediction")
    if memo is None or memo[0] != memo_key:
        try:
            memo = (memo_key, predict(model, chosen.image.to(device)))
        except Exception as err:  # a model that cannot take this input: say so, keep the page usable
            st.error(user_message(err))
            return None, chosen.ref
        st.session_state["clean_prediction"] = memo
    prediction = memo[1]
    st.markdown(f"The model predicts **{markdown_text(class_name(info, prediction.label))}** "
                f"({prediction.confidence:.1%}).")
    return prediction, true_class_choice(chosen, prediction.label, info)


def _not_runnable(settings: AttackSettings, clean: Prediction | None, info: ModelInfo) -> str | None:
    """Why Run is disabled for these settings and this input, in words; None when it can run."""
    if settings.targeted and clean is not None and settings.target == clean.label:
        return (f"The model already predicts the target class {markdown_text(class_name(info, clean.label))} for "
                "this image: pick another target class, or turn off “Targeted attack”.")
    return None


def _last_run_caption(latest: RunOutcome, chosen: ChosenInput | None, model_name: str) -> None:
    """What the last run attacked; unmistakable when the picker now shows another image or model."""
    config = latest.config
    st.caption(f"{markdown_text(config.model)} · {markdown_text(config.input.describe())} · {latest.steps} steps in "
               f"{latest.wall_seconds:.2f} s ({latest.steps / max(latest.wall_seconds, 1e-9):.0f} steps/s)")
    if chosen is None or chosen.ref != replace(config.input, true_class=None) or model_name != config.model:
        st.warning(f"This result is for the last run's input ({markdown_text(config.input.describe())}, model "
                   f"{markdown_text(config.model)}), not for the image and model picked above: press Run attack to "
                   "attack those.", icon=":material/history:")


def _start(config: RunConfig, image) -> bool:
    return live.start(RUN_KEY, ExplorerTask(config, image), config.device, config.cpu_threads,
                      config.attack.num_steps, context=(config, image))


def _draw_live(run: live.ActiveRun, snapshot: Snapshot) -> None:
    """The running attack: its progress and its charts so far (fixed keys: the browser updates them in place)."""
    config, image = run.context
    best = snapshot.traces.get("")
    detail = ""
    if best is not None and best.num_steps:
        value = float(best.best_distance[-1, 0])
        detail = "no adversarial yet" if value == float("inf") else f"best D = {value:.4g}"
    live.status(run, snapshot, detail)
    live_charts(snapshot.traces, config.attack.num_steps, get_distance(config.attack.distance).label, key="live")
    if snapshot.phase is Phase.PAUSED and best is not None:
        paused_iterate(image, snapshot.iterate, best, config.attack.distance)


def _add_to_history(outcome: RunOutcome | None) -> None:
    if outcome is not None:
        library.keep(outcome)
        session_history().add(outcome)


def _pending_config(chosen: ChosenInput | None, config: RunConfig | None) -> RunConfig | None:
    """The loaded config, once the page can rerun it (its image is there); explains what is missing."""
    pending: RunConfig | None = st.session_state.get(PENDING_KEY)
    if pending is None or config is None or chosen is None:
        if pending is not None and pending.input.sha256:
            st.info(f"This config attacked an uploaded image (sha256 {pending.input.sha256[:16]}…): upload the "
                    "same file to rerun it.", icon=":material/upload:")
        return None
    if chosen.ref != replace(pending.input, true_class=None):
        st.info("This config attacked another uploaded image: upload the same file to rerun it.",
                icon=":material/upload:")
        return None
    del st.session_state[PENDING_KEY]
    if config.device != pending.device:
        st.warning(f"The config ran on {pending.device}, which is not available: rerunning on {config.device}, "
                   "so the result may differ slightly.")
    if differences := pending.version_differences():
        st.warning(f"Package versions differ from the run's ({', '.join(differences)}): the result may differ "
                   "slightly.")
    return config


def attack_explorer() -> None:
    library.restore_explorer()  # a reload or a link: the URL's settings and run, before the widgets are drawn
    st.title("Attack explorer")
    st.caption("Pick a model and an image, run ALMA, and watch the distance, the constraint, μ, ρ and the learning "
               "rate step by step. Pause and step through it to teach; download everything to reproduce it.")
    with st.sidebar:
        info = model_picker()
        settings = attack_settings(info, defaults=EXPLORER_DEFAULTS)
        device, threads = device_picker(info)
        st.file_uploader("Load a run config (JSON)", type=["json"], key="config_file", on_change=_load_config,
                         help="A config downloaded from a result: loading it reruns that run exactly.")
        if message := st.session_state.get("config_error"):
            st.error(markdown_text(message))  # it may quote the file
        library.keep_uploads_toggle()
    model = get_model(info, device)

    run = live.active_run(RUN_KEY)
    busy = run is not None and run.job.phase.active
    # The run's controls, and its live charts while it is active, come first (visible without scrolling); the
    # input after them. They are drawn once the input is known, so into a container placed here.
    top = st.container()
    left, right = st.columns([3, 2], gap="large")
    with left:
        chosen = input_picker(info)
    clean, input_ref = None, None
    with right:
        if chosen is not None:
            model_view(chosen.image, info)
            if model is not None:
                clean, input_ref = _clean_prediction_caption(model, chosen, info, device)
    config = None
    reason = _not_runnable(settings, clean, info)
    if chosen is not None and model is not None and reason is None:
        config = RunConfig(model=info.name, input=input_ref or chosen.ref, attack=settings, device=device,
                           cpu_threads=threads)
    library.publish_explorer(config)

    with top:
        # Run starts the job before the controls are drawn (the button's click is in the session state), so that
        # this very run of the page draws it running: no second run of the page before the first live line.
        # A loaded config waits for the active run to end (it starts on the page's run after that one's result).
        clicked = bool(st.session_state.get("run")) or (not busy and _pending_config(chosen, config) is not None)
        if clicked and config is not None and not busy and _start(config, chosen.image):
            run, busy = live.active_run(RUN_KEY), True
        run_col, controls_col = st.columns([1, 4], vertical_alignment="bottom")
        run_col.button("Run attack", type="primary", icon=":material/play_circle:", width="stretch",
                       disabled=busy or config is None, key="run")
        with controls_col:
            live.controls(RUN_KEY)
        if reason is not None and not busy:
            st.warning(reason, icon=":material/block:")
        if error := live.last_error(RUN_KEY):
            message, out_of_memory = error
            st.error(message, icon=":material/error:")
            if out_of_memory:
                cpu, fewer = st.columns(2)
                cpu.button("Run on the CPU instead", on_click=_use_cpu, key="oom_cpu")
                fewer.button("Use 100 steps", on_click=_use_100_steps, key="oom_steps")
        if run is not None:
            live.follow(RUN_KEY, _draw_live, _add_to_history)
            return
    preload()
    latest = session_history().latest()
    if latest is not None:
        st.subheader("Last run")
        library.saved_note(latest)
        _last_run_caption(latest, chosen, info.name)
        latest_info = get_info(latest.config.model)
        scrubber(latest, latest_info, model if latest.config.model == info.name else None)
        export_panel({"": latest}, latest_info, key="explorer_export")
        result_panel(latest, latest_info)
    library.finish_saving()  # the library's note on the last run, once its write (started when it ended) is done


def _pages() -> list[st.Page]:
    pages = [st.Page(attack_explorer, title="Attack explorer", icon=":material/target:", default=True)]
    for path in sorted(PAGES_DIR.glob("*.py")):
        stem = path.stem.split("_", 1)[-1]
        pages.append(st.Page(path, title=PAGE_TITLES.get(stem, stem.replace("_", " ")),
                             icon=PAGE_ICONS.get(stem)))
    return pages


pool()  # the worker processes start with the server, so that the first run starts at once
st.set_page_config(page_title="ALMA Explorer", page_icon=str(FAVICON), layout="wide")
st.html(PIXELATED_IMAGES)
st.navigation(_pages()).run()
