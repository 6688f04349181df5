"""Any timm model as `timm/<name>` (e.g. `timm/resnet50.a1_in1k`), with its preprocessing and class names taken from
timm's pretrained config.

Weights are a `model.safetensors` file, looked for in `$ALMA_WEIGHTS_DIR/timm/<name>/model.safetensors` (or
`$ALMA_WEIGHTS_DIR/timm/<name>.safetensors`), then in the Hugging Face hub cache (`$HF_HUB_CACHE`), then downloaded
from the hub into that cache. Only safetensors files are read, so nothing in a weight file is ever executed.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from torch import nn

from ..weights import Progress, WeightsError, weights_dir
from .errors import UnknownModel
from .info import ModelInfo
from .optional import installed, require
from .registry import IMAGENET_CLASSES

PREFIX = "timm/"
WEIGHTS_FILE = "model.safetensors"
SUGGESTED = (
    "resnet50.a1_in1k",
    "resnet18.a1_in1k",
    "mobilenetv3_small_100.lamb_in1k",
    "convnext_tiny.fb_in1k",
    "vit_base_patch16_224.augreg2_in21k_ft_in1k",
    "inception_v3.tf_adv_in1k",
    "inception_resnet_v2.tf_ens_adv_in1k",
)
"""Picker suggestions: common ImageNet models, and the adversarially trained ones timm has (the last two)."""
SUGGESTED_NOTES = {"inception_v3.tf_adv_in1k": "adversarially trained (Kurakin et al.)",
                   "inception_resnet_v2.tf_ens_adv_in1k": "ensemble adversarial training (Tramèr et al.)"}


def is_timm_name(name: str) -> bool:
    return name.startswith(PREFIX)


@dataclass(frozen=True)
class TimmModel:
    """What the registry knows of one timm model: its `ModelInfo`, its hub repository and its parameter count."""

    info: ModelInfo
    hub_id: str | None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def timm_name(self) -> str:
        return self.info.name.removeprefix(PREFIX)

    @property
    def download_bytes(self) -> int:
        """About the size of its float32 weight file (its architecture is built on the meta device to count)."""
        return 4 * _num_params(self.timm_name)

    def local_weights(self) -> Path | None:
        """The weight file under `$ALMA_WEIGHTS_DIR` or in the hub cache, if there is one."""
        root = weights_dir()
        if root is not None:
            folder = root / "timm"
            for candidate in (folder / self.timm_name / WEIGHTS_FILE, folder / f"{self.timm_name}.safetensors"):
                if candidate.is_file():
                    return candidate
        if self.hub_id is not None and installed("huggingface_hub"):
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(self.hub_id, WEIGHTS_FILE, cache_dir=os.environ.get("HF_HUB_CACHE"))
            if isinstance(cached, str) and Path(cached).is_file():
                return Path(cached)
        return None

    def weights(self) -> Path:
        """The local weight file, downloaded from the hub when there is none."""
        local = self.local_weights()
        if local is not None:
            return local
        places = (f"$ALMA_WEIGHTS_DIR/timm/{self.timm_name}/{WEIGHTS_FILE}" if weights_dir() is None else
                  str(weights_dir() / "timm" / self.timm_name / WEIGHTS_FILE))
        if self.hub_id is None:
            raise WeightsError(f"timm has no published weights for '{self.timm_name}'; put a {WEIGHTS_FILE} at "
                               f"{places}.")
        hub = require("huggingface_hub", f"Downloading the timm model '{self.timm_name}'")
        try:
            return Path(hub.hf_hub_download(self.hub_id, WEIGHTS_FILE, cache_dir=os.environ.get("HF_HUB_CACHE")))
        except Exception as err:  # offline, unknown repository, interrupted download...
            raise WeightsError(f"the weights of '{self.timm_name}' are not in {places} nor in the Hugging Face hub "
                               f"cache, and the download from the hub ({self.hub_id}) failed "
                               f"({type(err).__name__}). Connect to the internet once, or put the file there.") \
                from err


@cache
def timm_model(name: str) -> TimmModel:
    """The timm model `timm/<name>`, from its pretrained config alone (nothing is built or read)."""
    timm = require("timm", f"The model '{name}'")
    short = name.removeprefix(PREFIX)
    cfg = timm.models.get_pretrained_cfg(short) if short and timm.is_model(short) else None
    if cfg is None:
        raise UnknownModel(f"timm has no pretrained model '{short}' (see timm.list_pretrained() or "
                           "huggingface.co/timm)")
    cfg = cfg.to_dict()
    channels, height, width = (int(v) for v in cfg.get("input_size", (3, 224, 224)))
    crop_pct = float(cfg.get("crop_pct") or 1.0)
    info = ModelInfo(name, short, "imagenet" if channels == 3 else "mnist", (channels, height, width),
                     _class_names(cfg, int(cfg.get("num_classes") or 1000)), f"timm {timm.__version__}: {short}",
                     SUGGESTED_NOTES.get(short, "see the model card on huggingface.co/timm"),
                     notes=f"timm model; inputs resized to {math.floor(min(height, width) / crop_pct)} px, "
                           f"{cfg.get('interpolation', 'bilinear')}, centre crop {height}×{width}",
                     resize=math.floor(min(height, width) / crop_pct),
                     interpolation=cfg.get("interpolation") or "bilinear", origin="timm")
    mean, std = cfg.get("mean"), cfg.get("std")
    return TimmModel(info, cfg.get("hf_hub_id"), None if mean is None else tuple(mean),
                     None if std is None else tuple(std))


@cache
def _num_params(short: str) -> int:
    timm = require("timm", f"The model '{short}'")
    with torch.device("meta"):
        return sum(p.numel() for p in timm.create_model(short, pretrained=False).parameters())


def _class_names(cfg: dict, num_classes: int) -> tuple[str, ...]:
    if cfg.get("label_names") and len(cfg["label_names"]) == num_classes:
        return tuple(str(n) for n in cfg["label_names"])
    from timm.data import ImageNetInfo, infer_imagenet_subset

    subset = infer_imagenet_subset(cfg)
    if subset == "imagenet-1k" and num_classes == len(IMAGENET_CLASSES):
        return IMAGENET_CLASSES  # torchvision's short names, as the other ImageNet models
    if subset is not None:
        names = ImageNetInfo(subset).label_descriptions()
        if len(names) == num_classes:
            return tuple(name.split(",")[0] for name in names)
    return tuple(str(i) for i in range(num_classes))


def load_timm(name: str, progress: Progress | None = None) -> nn.Module:
    """The timm model `name` with its weights, taking inputs in [0, 1] (its normalisation included)."""
    from .normalize import normalized

    model = timm_model(name)
    timm = require("timm", f"The model '{name}'")
    require("safetensors", f"The model '{name}'")
    path = model.weights()
    try:
        network = timm.create_model(model.timm_name, pretrained=True,
                                    pretrained_cfg_overlay={"file": str(path), "source": ""})
    except Exception as err:  # a truncated or foreign file
        raise WeightsError(f"the weight file {path} does not fit the timm model '{model.timm_name}': {err}") from err
    return network if model.mean is None else normalized(network, model.mean, model.std)


def available() -> bool:
    """Whether timm is installed."""
    return installed("timm")
