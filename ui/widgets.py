"""Settings widgets. Every widget has a key and takes its default from the session state, so that loading a run
config (`apply_config`) sets them all; `prefix` keeps the widgets of different pages apart."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

import streamlit as st

from alma import distances
from alma.constraints import CONSTRAINTS
from alma.models import ModelInfo
from alma.optim import OPTIMIZERS
from alma.penalties import PENALTIES

from .config import AttackSettings, RunConfig
from .models import AUTO, default_cpu_threads, devices, model_picker, resolve_device  # noqa: F401 (the pages' picker)

STEP_CHOICES = ("100", "1000", "custom")
_PAPER = AttackSettings()
EIGHT_BIT = 256
"""Quantisation levels of an 8-bit image: the explorer attacks in them by default (see `quantisation_choice`)."""


@dataclass(frozen=True)
class Setting:
    """An advanced setting of `alma.attack`: its widget and its one-line explanation."""

    name: str
    label: str
    explanation: str
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    auto: str = ""
    """Placeholder of an optional number; empty means "use the automatic value"."""
    integer: bool = False


ADVANCED = (
    Setting("alpha", "α: EMA of the multiplier μ", "μ ← αμ + (1 − α)μ̂ smooths the multiplier; 0 turns the EMA off.",
            minimum=0.0, maximum=1.0, step=0.05, auto="auto: 0.5 up to 100 steps, else 0.9"),
    Setting("init_lr_distance", "ε: distance of the first step", "η⁽⁰⁾ is searched so that the first step moves D "
            "by ε.", minimum=0.0, step=0.01, auto="auto: the distance's default"),
    Setting("penalty", "Penalty function P", "P2 is the paper's; see the Penalty functions page.",
            options=tuple(PENALTIES)),
    Setting("optimizer", "Optimizer", "RMSProp with momentum (paper), or plain gradient descent.",
            options=OPTIMIZERS),
    Setting("lr_decay", "Learning-rate decay", "After the first adversarial, η decays exponentially to r·η⁽⁰⁾."),
    Setting("lr_search", "Initial learning-rate search", "Finds η⁽⁰⁾ from ε; off: η⁽⁰⁾ = the fixed value below."),
    Setting("lr_init", "η⁽⁰⁾ without search", "Used when the search is off (or cannot reach ε).", minimum=1e-6,
            step=0.01),
    Setting("lr_reduction", "r: final η / η⁽⁰⁾", "How far η decays by the last step.", minimum=1e-6, maximum=1.0,
            step=0.005),
    Setting("constraint", "Constraint c", "dlr: the paper's DLR⁺ ratio, scale-free; logit_diff: plain logit margin.",
            options=CONSTRAINTS),
    Setting("gamma", "γ: ρ increase factor", "ρ ← γρ when the constraint does not improve enough.", minimum=1.0,
            step=0.05),
    Setting("tau", "τ: required improvement", "ρ grows unless c fell below τ times its value M steps earlier.",
            minimum=0.0, maximum=1.0, step=0.01),
    Setting("check_steps", "M: steps between ρ checks", "How often ρ may grow (never after the first adversarial).",
            minimum=1, step=1, integer=True),
    Setting("mu_init", "μ⁽⁰⁾: initial multiplier", "Starting weight of the penalty term.", minimum=1e-12),
    Setting("rho_init", "ρ⁽⁰⁾: initial penalty parameter", "Starting steepness of the penalty.", minimum=1e-12),
    Setting("mu_min", "μ_min", "Lower clamp of μ.", minimum=1e-30),
    Setting("mu_max", "μ_max", "Upper clamp of μ.", minimum=1e-30),
    Setting("alpha_rms", "RMSProp smoothing", "Average of squared gradients; the reference ties it to α.",
            minimum=0.0, maximum=1.0, step=0.05, auto="auto: α"),
    Setting("momentum", "Momentum", "Momentum of the update direction; the reference ties it to α.",
            minimum=0.0, maximum=1.0, step=0.05, auto="auto: α (RMSProp), 0 (SGD)"),
    Setting("rms_init", "RMSProp v₀", "Initial average of squared gradients: 1 (paper) keeps the first step small.",
            minimum=0.0, step=0.1),
    Setting("logit_tolerance", "κ: logit margin", "How far past the decision boundary counts as adversarial.",
            minimum=0.0, step=1e-4),
    Setting("levels", "Quantisation levels", "Round x̃ to this many levels each step (256: every iterate is an "
            "8-bit image, so the PNG download is exactly the adversarial; empty: continuous, as in the paper).",
            minimum=2, step=1, integer=True, auto="off: continuous"),
)


def _key(prefix: str, name: str) -> str:
    return f"{prefix}{name}"


def _init(key: str, default: Any, options: list | tuple | None = None) -> None:
    """Give a widget its default through the session state (unless it has a valid value already)."""
    if key not in st.session_state or (options is not None and st.session_state[key] not in options):
        st.session_state[key] = default


def distance_picker(prefix: str = "", default: str = "l2") -> str:
    names = distances.available()
    key = _key(prefix, "distance")
    _init(key, default, names)
    name = st.selectbox("Distance D", names, key=key, format_func=lambda n: distances.get(n).label)
    st.caption(distances.get(name).description)
    return name


def steps_picker(prefix: str = "", default: int = 1000) -> int:
    choice_key, custom_key = _key(prefix, "steps"), _key(prefix, "custom_steps")
    _init(choice_key, str(default) if str(default) in STEP_CHOICES else "custom", STEP_CHOICES)
    _init(custom_key, default)
    choice = st.segmented_control("Steps N", STEP_CHOICES, key=choice_key, required=True,
                                  help="Forwards = backwards = N. The paper uses 100 and 1000.")
    if choice == "custom":
        return int(st.number_input("Custom number of steps", min_value=1, max_value=100_000, step=10,
                                   key=custom_key))
    return int(choice)


def target_picker(info: ModelInfo, prefix: str = "") -> tuple[bool, int | None]:
    targeted_key, target_key = _key(prefix, "targeted"), _key(prefix, "target")
    classes = list(range(len(info.class_names)))
    _init(targeted_key, False)
    _init(target_key, 0, classes)
    targeted = st.toggle("Targeted attack", key=targeted_key,
                         help="Untargeted: any other class. Targeted: reach the class below.")
    if not targeted:
        return False, None
    target = st.selectbox("Target class", classes, key=target_key,
                          format_func=lambda i: f"{i}: {info.class_names[i]}")
    return True, int(target)


def seed_picker(prefix: str = "") -> int | None:
    key = _key(prefix, "seed")
    _init(key, 0)
    seed = st.number_input("Seed", min_value=0, step=1, key=key, placeholder="none",
                           help="Seeds the random direction given to a sample with a zero gradient.")
    return None if seed is None else int(seed)


def device_picker(info: ModelInfo, prefix: str = "") -> tuple[str, int]:
    """The resolved device (never "auto") and the CPU threads."""
    device_key, threads_key = _key(prefix, "device"), _key(prefix, "cpu_threads")
    options = devices()
    _init(device_key, AUTO, options)
    _init(threads_key, default_cpu_threads(info))
    choice = st.selectbox("Device", options, key=device_key, help="auto: the GPU when there is one.")
    device = resolve_device(choice)
    threads = int(st.session_state[threads_key])
    if device == "cpu":
        if choice == AUTO:
            st.caption("No GPU found: running on the CPU.")
        threads = int(st.number_input("CPU threads", min_value=1, max_value=os.cpu_count() or 1, step=1,
                                      key=threads_key, help="One thread is fastest for small images."))
    return device, threads


def advanced_settings(prefix: str = "", defaults: AttackSettings = _PAPER) -> dict[str, Any]:
    """Every advanced setting, with `defaults` (the paper's unless given) and a one-line explanation each."""
    values: dict[str, Any] = {}
    with st.expander("Advanced: every switch of the attack"):
        st.button("Reset to the paper's defaults", key=_key(prefix, "reset_advanced"), on_click=_reset_advanced,
                  args=(prefix,))
        for setting in ADVANCED:
            values[setting.name] = _advanced_widget(setting, _key(prefix, f"adv_{setting.name}"),
                                                    getattr(defaults, setting.name))
            st.caption(setting.explanation)
    return values


def quantisation_choice(prefix: str = "") -> None:
    """Says whether the attack runs in 8-bit levels or continuously, and switches to the other in one click.

    In 8-bit levels every iterate is an image a PNG stores exactly, so the downloaded adversarial is the adversarial
    that was found. The paper attacks in continuous [0, 1]: there the 8-bit rounding of the download can undo a
    minimal perturbation (it sits right at the decision boundary)."""
    key = _key(prefix, "adv_levels")
    if st.session_state.get(key) == EIGHT_BIT:
        st.caption("Attacking in 8-bit levels: every iterate is an 8-bit image, so the downloaded PNG is exactly "
                   "the adversarial found. The paper attacks continuous images, whose 8-bit rounding can undo the "
                   "attack.")
        st.button("Use the paper's continuous images", key=_key(prefix, "levels_switch"), on_click=_set_levels,
                  args=(key, None), icon=":material/blur_on:")
    else:
        st.caption("Attacking continuous images, as in the paper: the downloaded PNG is rounded to 8 bits, which can "
                   "undo the attack.")
        st.button("Attack in 8-bit levels", key=_key(prefix, "levels_switch"), on_click=_set_levels,
                  args=(key, EIGHT_BIT), icon=":material/grid_on:")


def _set_levels(key: str, levels: int | None) -> None:
    st.session_state[key] = levels


def _advanced_widget(setting: Setting, key: str, default: Any) -> Any:
    if setting.options:
        _init(key, default, setting.options)
        return st.selectbox(setting.label, setting.options, key=key)
    if isinstance(default, bool):
        _init(key, default)
        return st.toggle(setting.label, key=key)
    _init(key, default)
    cast = int if setting.integer else float
    if st.session_state[key] is not None:  # e.g. a config written by hand with 2 for 2.0
        st.session_state[key] = cast(st.session_state[key])
    bounds = {name: None if value is None else cast(value) for name, value in
              (("min_value", setting.minimum), ("max_value", setting.maximum), ("step", setting.step))}
    value = st.number_input(setting.label, key=key, placeholder=setting.auto or None,
                            format=None if setting.integer else "%g", **bounds)
    return None if value is None else cast(value)


def _reset_advanced(prefix: str) -> None:
    for setting in ADVANCED:
        st.session_state[_key(prefix, f"adv_{setting.name}")] = getattr(_PAPER, setting.name)


def attack_settings(info: ModelInfo, prefix: str = "", default_steps: int = 1000,
                    defaults: AttackSettings = _PAPER) -> AttackSettings:
    """Distance, targeting, steps, seed and the advanced settings (`defaults`: the paper's unless given) as
    `AttackSettings`; with 8-bit levels by default, the choice between them and continuous images is shown too."""
    distance = distance_picker(prefix)
    targeted, target = target_picker(info, prefix)
    num_steps = steps_picker(prefix, default_steps)
    seed = seed_picker(prefix)
    if defaults.levels == EIGHT_BIT:
        _init(_key(prefix, "adv_levels"), EIGHT_BIT)
        quantisation_choice(prefix)
    advanced = advanced_settings(prefix, defaults)
    return AttackSettings(distance=distance, targeted=targeted, target=target, num_steps=num_steps, seed=seed,
                          **advanced)


def apply_config(config: RunConfig, prefix: str = "") -> None:
    """Set every settings widget to `config` (call before the widgets are drawn, e.g. in a callback)."""
    state, attack = st.session_state, config.attack
    state[_key(prefix, "model")] = config.model
    state[_key(prefix, "distance")] = attack.distance
    state[_key(prefix, "targeted")] = attack.targeted
    if attack.target is not None:
        state[_key(prefix, "target")] = attack.target
    steps = str(attack.num_steps)
    state[_key(prefix, "steps")] = steps if steps in STEP_CHOICES else "custom"
    state[_key(prefix, "custom_steps")] = attack.num_steps
    state[_key(prefix, "seed")] = attack.seed
    state[_key(prefix, "device")] = config.device if config.device in devices() else AUTO
    state[_key(prefix, "cpu_threads")] = config.cpu_threads
    basic = {"distance", "targeted", "target", "num_steps", "seed"}
    for name in (f.name for f in fields(AttackSettings) if f.name not in basic):
        state[_key(prefix, f"adv_{name}")] = getattr(attack, name)
