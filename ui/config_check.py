"""Checks a run config read from a file, field by field, before anything uses it: each rejection names the field
in words ("the number of steps N", not `num_steps`) and says what it must be.

The rules are `alma.attack`'s (ranges, choices) and the explorer's (a known model, sample and device); a config
that passes can be rerun.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from alma import distances
from alma.constraints import CONSTRAINTS
from alma.models import ModelInfo, get_info
from alma.optim import OPTIMIZERS
from alma.penalties import PENALTIES
from alma.samples import list_samples

MAX_STEPS = 100_000
FIELD_WORDS = {
    "model": "the model", "device": "the device", "cpu_threads": "the number of CPU threads",
    "versions": "the package versions",
    "sample": "the sample image", "sha256": "the uploaded image's sha256", "invert": "the MNIST polarity (invert)",
    "true_class": "the image's true class",
    "distance": "the distance D", "targeted": "targeted attack (on or off)", "target": "the target class",
    "num_steps": "the number of steps N", "alpha": "α, the EMA of the multiplier μ",
    "init_lr_distance": "ε, the distance of the first step", "penalty": "the penalty function P",
    "mu_init": "μ⁽⁰⁾, the initial multiplier", "rho_init": "ρ⁽⁰⁾, the initial penalty parameter",
    "mu_min": "μ_min, the lower clamp of μ", "mu_max": "μ_max, the upper clamp of μ",
    "gamma": "γ, the ρ increase factor", "tau": "τ, the required improvement", "check_steps":
    "M, the steps between ρ checks", "lr_reduction": "r, the final η / η⁽⁰⁾", "optimizer": "the optimizer",
    "alpha_rms": "the RMSProp smoothing", "momentum": "the momentum", "rms_init": "the RMSProp v₀",
    "lr_decay": "the learning-rate decay (on or off)", "lr_search": "the initial learning-rate search (on or off)",
    "lr_init": "η⁽⁰⁾ without search", "constraint": "the constraint c", "logit_tolerance": "κ, the logit margin",
    "levels": "the quantisation levels", "seed": "the seed",
}
"""Every field of a run config, in the words the explorer uses for it."""
SECTIONS = {"input": "the input image", "attack": "the attack settings"}
_DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class FieldError(ValueError):
    """A field that cannot be used; the message names it in words."""


def words(name: str) -> str:
    return FIELD_WORDS.get(name) or SECTIONS.get(name) or f"the setting “{name}”"


def sentence(name: str) -> str:
    """`words(name)` opening a sentence ("The number of steps N"; "α, …" stays as it is)."""
    text = words(name)
    return text[0].upper() + text[1:] if text[0].isascii() else text


def shown(value: Any) -> str:
    """A value as the user wrote it, cut to 40 characters."""
    text = "empty" if value is None else f"“{value}”" if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _fail(name: str, rule: str, value: Any) -> FieldError:
    return FieldError(f"{sentence(name)} must be {rule} (it is {shown(value)}).")


def whole(low: int, high: int | None = None, optional: bool = False) -> Callable[[str, Any], int | None]:
    def check(name: str, value: Any) -> int | None:
        if value is None and optional:
            return None
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, float) and value.is_integer():
            number = int(value)
        if number is None or number < low or (high is not None and number > high):
            bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise _fail(name, f"a whole number {bound}" + (" or empty" if optional else ""), value)
        return number
    return check


def real(low: float, high: float = math.inf, open_low: bool = False,
         optional: bool = False) -> Callable[[str, Any], float | None]:
    def check(name: str, value: Any) -> float | None:
        if value is None and optional:
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (value > low if open_low else value >= low) and value <= high
        if not ok:
            above = f"above {low:g}" if open_low else f"at least {low:g}"
            bound = f"a number {above}" + (f" and at most {high:g}" if high != math.inf else "")
            raise _fail(name, bound + (" or empty" if optional else ""), value)
        return float(value)
    return check


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, "true or false", value)
    return value


def choice(options: Callable[[], Any]) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        known = list(options())
        if value not in known:
            listed = ", ".join(f"“{k}”" for k in known[:8]) + (", …" if len(known) > 8 else "")
            raise _fail(name, f"one of {listed}", value)
        return value
    return check


LARGE = 1e6
"""Upper bound of the unbounded settings: far beyond any useful value, well inside float32 (the attack's tensors)."""
ATTACK_RULES: Mapping[str, Callable[[str, Any], Any]] = {
    "distance": choice(distances.available), "targeted": flag, "target": whole(0, optional=True),
    "num_steps": whole(1, MAX_STEPS), "alpha": real(0, 1, optional=True),
    "init_lr_distance": real(0, LARGE, open_low=True, optional=True), "penalty": choice(lambda: PENALTIES),
    "mu_init": real(0, 1e30, open_low=True), "rho_init": real(0, 1e30, open_low=True),
    "mu_min": real(0, 1e30, open_low=True), "mu_max": real(0, 1e30, open_low=True), "gamma": real(1, LARGE),
    "tau": real(0, 1), "check_steps": whole(1, MAX_STEPS), "lr_reduction": real(0, 1, open_low=True),
    "optimizer": choice(lambda: OPTIMIZERS), "alpha_rms": real(0, 1, optional=True),
    "momentum": real(0, 1, optional=True), "rms_init": real(0, LARGE), "lr_decay": flag, "lr_search": flag,
    "lr_init": real(0, LARGE, open_low=True), "constraint": choice(lambda: CONSTRAINTS),
    "logit_tolerance": real(0, LARGE), "levels": whole(2, 2**16, optional=True),
    "seed": whole(0, 2**63 - 1, optional=True),
}


def check_section(section: str, data: Any, rules: Mapping[str, Callable[[str, Any], Any]],
                  required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of one section (`input`, `attack`) checked by `rules`; missing ones keep their defaults."""
    if not isinstance(data, dict):
        raise FieldError(f"{sentence(section)} must be a group of settings "
                         f"(it is {shown(data)}).")
    unknown = [name for name in data if name not in rules]
    if unknown:
        raise FieldError(f"{sentence(section)} have settings this explorer does not "
                         f"know: {', '.join(shown(name) for name in unknown)}.")
    for name in required:
        if name not in data:
            raise FieldError(f"{sentence(name)} is missing.")
    return {name: rules[name](name, value) for name, value in data.items()}


def check_attack(data: Any) -> dict[str, Any]:
    """The attack settings, with the cross-field rules of `alma.attack`."""
    values = check_section("attack", data, ATTACK_RULES)
    low, init, high = (values.get(k) for k in ("mu_min", "mu_init", "mu_max"))
    if None not in (low, init, high) and not low <= init <= high:
        raise FieldError(f"μ_min ≤ μ⁽⁰⁾ ≤ μ_max must hold (they are {low:g}, {init:g}, {high:g}).")
    if values.get("targeted") and values.get("target") is None:
        raise FieldError("The target class is missing: a targeted attack needs one.")
    return values


UPLOADED_MODEL = re.compile(r"upload-[0-9a-f]{8,64}")
"""How an uploaded model is named (by the hash of its file and settings): a config may name one that this session
does not have; it runs once the same file is uploaded again."""


def model_info(name: Any) -> ModelInfo | None:
    """The info of the config's model: a built-in, a plugin's, any `timm/<name>`, or an upload of this session; None
    for an upload that this session does not have."""
    if isinstance(name, str):
        try:
            return get_info(name)
        except Exception:  # unknown, or timm missing: the message below says what a config may name
            if UPLOADED_MODEL.fullmatch(name):
                return None
    raise _fail("model", "one of the models of this explorer (see the model picker) or timm/<name>", name)


def check_model(name: Any, target: int | None) -> str:
    info = model_info(name)
    if info is not None and target is not None and target >= len(info.class_names):
        raise _fail("target", f"a class of {info.name} (0 to {len(info.class_names) - 1})", target)
    return name


def check_input(data: Any, model: str) -> dict[str, Any]:
    info = model_info(model)

    def sample(name: str, value: Any) -> str | None:
        if value is None:
            return None
        if info is None or value not in list_samples(info.dataset):
            raise _fail(name, f"a sample of the {info.dataset if info else 'model’s'} dataset", value)
        return value

    def sha256(name: str, value: Any) -> str | None:
        if value is not None and not (isinstance(value, str) and _SHA256.fullmatch(value)):
            raise _fail(name, "64 hexadecimal digits", value)
        return value

    def true_class(name: str, value: Any) -> int | None:
        classes = len(info.class_names) if info is not None else 2**31
        return whole(0, classes - 1, optional=True)(name, value)

    rules = {"sample": sample, "sha256": sha256, "invert": lambda n, v: None if v is None else flag(n, v),
             "true_class": true_class}
    values = check_section("input", data, rules)
    if (values.get("sample") is None) == (values.get("sha256") is None):
        raise FieldError("The input image must be either a sample or an upload's sha256 (exactly one of them).")
    return values


def check_device(name: str, value: Any) -> str:
    if not (isinstance(value, str) and _DEVICE.fullmatch(value)):
        raise _fail(name, "cpu, cuda, cuda:N or mps", value)
    return value


def check_versions(name: str, value: Any) -> dict[str, str]:
    if not (isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
        raise _fail(name, "package names with their versions", value)
    return value
