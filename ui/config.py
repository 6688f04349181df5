"""The settings of one run as a frozen, JSON-serialisable record; loading the JSON reruns the run exactly.

An uploaded image is identified by the sha256 of its bytes, never by its file name, and is never written to disk:
rerunning such a config needs the same file uploaded again. Attack defaults are `alma.attack`'s own.
"""
from __future__ import annotations

import inspect
import json
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from alma import attack

from . import config_check as check

FORMAT = 1
_ATTACK_DEFAULTS = {name: p.default for name, p in inspect.signature(attack).parameters.items()
                    if p.default is not inspect.Parameter.empty}
VERSIONED_PACKAGES = ("alma", "torch", "torchvision", "numpy", "lpips")


class ConfigError(ValueError):
    """A config file that cannot be used; the message says why."""


def _default(name: str) -> Any:
    return field(default=_ATTACK_DEFAULTS[name])


@dataclass(frozen=True)
class AttackSettings:
    """Every setting of `alma.attack` the explorer exposes; `target` is the target class of a targeted attack."""

    distance: str = _default("distance")
    targeted: bool = _default("targeted")
    target: int | None = None
    num_steps: int = _default("num_steps")
    alpha: float | None = _default("alpha")
    init_lr_distance: float | None = _default("init_lr_distance")
    penalty: str = _default("penalty")
    mu_init: float = _default("mu_init")
    rho_init: float = _default("rho_init")
    mu_min: float = _default("mu_min")
    mu_max: float = _default("mu_max")
    gamma: float = _default("gamma")
    tau: float = _default("tau")
    check_steps: int = _default("check_steps")
    lr_reduction: float = _default("lr_reduction")
    optimizer: str = _default("optimizer")
    alpha_rms: float | None = _default("alpha_rms")
    momentum: float | None = _default("momentum")
    rms_init: float = _default("rms_init")
    lr_decay: bool = _default("lr_decay")
    lr_search: bool = _default("lr_search")
    lr_init: float = _default("lr_init")
    constraint: str = _default("constraint")
    logit_tolerance: float = _default("logit_tolerance")
    levels: int | None = _default("levels")
    seed: int | None = 0

    def attack_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `alma.attack` (all but `target`, which becomes the labels)."""
        kwargs = asdict(self)
        del kwargs["target"]
        return kwargs


@dataclass(frozen=True)
class InputRef:
    """The attacked image: a sample by name, or an upload by the sha256 of its bytes; `invert` is the MNIST
    polarity choice (None: automatic, see `alma.images.to_model_input`); `true_class`, when set, is the label an
    untargeted attack moves away from (None: the clean prediction)."""

    sample: str | None = None
    sha256: str | None = None
    invert: bool | None = None
    true_class: int | None = None

    def __post_init__(self) -> None:
        if (self.sample is None) == (self.sha256 is None):
            raise ConfigError("an input is either a sample name or the sha256 of an upload")

    def describe(self) -> str:
        return f"sample {self.sample}" if self.sample else f"upload (sha256 {self.sha256[:12]}…)"


def current_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


@dataclass(frozen=True)
class RunConfig:
    """One run: model, input, attack settings, the device it ran on (resolved, never "auto"), the CPU threads
    (results on the CPU depend on them) and the package versions that produced it."""

    model: str
    input: InputRef
    attack: AttackSettings
    device: str = "cpu"
    cpu_threads: int = 1
    versions: dict[str, str] = field(default_factory=current_versions, compare=False)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> RunConfig:
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigError(f"This is not a run config (JSON) file: {err}.") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigError(f"This is not a run config of this explorer (expected \"format\": {FORMAT}).")
        return cls._checked(data)

    @classmethod
    def _checked(cls, data: dict[str, Any]) -> RunConfig:
        for name in ("model", "input", "attack", "device", "cpu_threads"):
            if name not in data:
                raise ConfigError(f"This run config is incomplete: {check.words(name)} is missing.")
        unknown = set(data) - {"format", "model", "input", "attack", "device", "cpu_threads", "versions"}
        if unknown:
            raise ConfigError("This run config has parts this explorer does not know: "
                              f"{', '.join(check.shown(name) for name in sorted(unknown))}.")
        try:
            attack = check.check_attack(data["attack"])
            model = check.check_model(data["model"], attack.get("target"))
            return cls(model=model, input=InputRef(**check.check_input(data["input"], model)),
                       attack=AttackSettings(**attack), device=check.check_device("device", data["device"]),
                       cpu_threads=check.whole(1, 1024)("cpu_threads", data["cpu_threads"]),
                       versions=check.check_versions("versions", data.get("versions", {})))
        except check.FieldError as err:
            raise ConfigError(f"This run config cannot be used: {err}") from None

    def version_differences(self) -> list[str]:
        """Packages whose version differs from the one that produced this config."""
        now = current_versions()
        return [f"{name} {self.versions[name]} → {now.get(name, '?')}" for name in self.versions
                if self.versions[name] != now.get(name)]

