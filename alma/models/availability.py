"""Whether a model can be used right now, without trying to load it: `availability(name)`.

Kinds: "ready" (works offline: bundled, or its weights are in `ALMA_WEIGHTS_DIR` or a cache), "download" (its
weights will be downloaded on first use; `download_bytes` about their size), "package" (needs an optional package),
"missing" (offline-only weights that are not there) and "yours" (a plugin's or an uploaded model).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..weights import ENV_VAR, hub_dir, weights_dir
from .errors import ModelUnavailable, UnknownModel
from .load import build_architecture, get_entry
from .optional import EXTRA, INSTALL_HINT, installed
from .registry import Entry
from .robustbench import INSTALL_HINT as ROBUSTBENCH_HINT
from .robustbench import RobustBenchModel
from .timm_models import is_timm_name, timm_model

USABLE = ("ready", "yours")


@dataclass(frozen=True)
class Availability:
    kind: str
    summary: str
    """One short sentence for the picker."""
    detail: str = ""
    download_bytes: int | None = None

    @property
    def usable_now(self) -> bool:
        """Usable without a download or an installation."""
        return self.kind in USABLE


def availability(name: str, with_size: bool = True) -> Availability:
    """Whether the model `name` works now (see the module docstring); never downloads or loads weights.
    `with_size=False` skips estimating the size of a download (it builds the architecture on the meta device)."""
    if is_timm_name(name):
        return _timm(name, with_size)
    entry = get_entry(name)
    if entry.info.origin in ("plugin", "upload"):
        where = "uploaded in this session" if entry.info.origin == "upload" else "registered by a plugin"
        return Availability("yours", f"Your model, {where}.")
    if entry.external is not None:
        return _robustbench(entry)
    weight = entry.weight
    if weight.bundled:
        return Availability("ready", "Bundled with the package: works offline.")
    root = weights_dir()
    if root is not None:
        for copy in weight.offline_paths():
            if (root / copy.path).is_file():
                return Availability("ready", f"Ready offline: its weights are in {ENV_VAR}.", str(root / copy.path))
    cached = hub_dir() / weight.filename
    if cached.is_file():
        return Availability("ready", "Ready offline: its weights are in the torch hub cache.", str(cached))
    places = ", ".join(str(root / c.path) if root else f"${ENV_VAR}/{c.path}" for c in weight.offline_paths())
    if weight.url is None:
        state = "is not set" if root is None else f"is {root}"
        return Availability("missing", f"Offline only: its weight file is not in {ENV_VAR}.",
                            f"It has no download location. Put the file at {places} ({ENV_VAR} {state}).")
    size = _architecture_bytes(name) if with_size else None
    return Availability("download", f"Downloads its weights on first use ({megabytes(size)}).",
                        f"From {weight.url} into {cached}; or put the file at {places} to work offline.", size)


def megabytes(size: int | None) -> str:
    return "size unknown" if size is None else f"about {size / 1e6:.0f} MB" if size >= 1e6 else \
        f"about {size / 1e3:.0f} kB"


def _timm(name: str, with_size: bool) -> Availability:
    if not installed("timm"):
        return Availability("package", f"Needs the optional package timm (the '{EXTRA}' extra).",
                            f"Install the 'models' extra: {INSTALL_HINT}")
    try:
        model = timm_model(name)
    except (UnknownModel, ModelUnavailable) as err:
        return Availability("missing", "timm has no model of this name.", str(err))
    local = model.local_weights()
    if local is not None:
        return Availability("ready", "Ready offline: its weights are on this machine.", str(local))
    if model.hub_id is None:
        return Availability("missing", "timm publishes no weights for it.",
                            f"Put a model.safetensors at ${ENV_VAR}/timm/{model.timm_name}/model.safetensors.")
    size = model.download_bytes if with_size else None
    return Availability("download", f"Downloads its weights on first use ({megabytes(size)}).",
                        f"From the Hugging Face hub ({model.hub_id}) into its cache; or put model.safetensors at "
                        f"${ENV_VAR}/timm/{model.timm_name}/ to work offline.", size)


def _robustbench(entry: Entry) -> Availability:
    if not installed("robustbench"):
        return Availability("package", "Needs the optional package robustbench.", f"Install it with: "
                            f"{ROBUSTBENCH_HINT}")
    builder = entry.external
    checkpoint = builder.checkpoint() if isinstance(builder, RobustBenchModel) else None
    if checkpoint is not None and checkpoint.is_file():
        return Availability("ready", "Ready offline: its checkpoint is on this machine.", str(checkpoint))
    return Availability("download", f"RobustBench downloads it on first use ({megabytes(entry.download_bytes)}).",
                        f"Into {checkpoint}; or put it under ${ENV_VAR}/robustbench/ to work offline.",
                        entry.download_bytes)


@cache
def _architecture_bytes(name: str) -> int:
    """About the size of a float32 state dict of the entry's architecture (built on the meta device)."""
    return 4 * sum(p.numel() for p in build_architecture(get_entry(name)).parameters())
