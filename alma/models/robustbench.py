"""Models of the RobustBench model zoo, built by the optional `robustbench` package (see `INSTALL_HINT`).

RobustBench builds the architecture, downloads the checkpoint (from Google Drive, without a checksum or a progress
callback) and returns a model that takes inputs in [0, 1]. Checkpoints are looked for in
`$ALMA_WEIGHTS_DIR/robustbench/<dataset>/<threat model>/<name>.pt` first, then under the torch hub cache.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..weights import Progress, WeightsError, hub_dir, weights_dir
from .errors import ModelUnavailable

INSTALL_HINT = ("pip install git+https://github.com/fra31/auto-attack git+https://github.com/RobustBench/robustbench "
                "setuptools   (the PyPI release 1.1.1 imports a module `autoattack` that no PyPI package provides)")


def model_dir(name: str, dataset: str, threat_model: str) -> Path:
    """The `model_dir` handed to RobustBench: the offline folder when it holds the checkpoint, else the hub cache."""
    root = weights_dir()
    if root is not None and (root / "robustbench" / dataset / threat_model / f"{name}.pt").is_file():
        return root / "robustbench"
    return hub_dir() / "robustbench"


@dataclass(frozen=True)
class RobustBenchModel:
    """A builder for `load_model`: RobustBench's model `name`, or `ModelUnavailable` without the package."""

    name: str
    dataset: str
    threat_model: str

    def checkpoint(self) -> Path:
        """Where RobustBench reads (or downloads) the checkpoint."""
        return model_dir(self.name, self.dataset, self.threat_model) / self.dataset / self.threat_model / \
            f"{self.name}.pt"

    def __call__(self, progress: Progress | None) -> nn.Module:
        name, dataset, threat_model = self.name, self.dataset, self.threat_model
        try:
            from robustbench.utils import load_model
        except ImportError as err:
            state = "which is not installed" if err.name in ("robustbench", "robustbench.utils") else \
                f"which could not be imported ({err})"
            raise ModelUnavailable(f"The RobustBench model '{name}' needs the optional package robustbench, "
                                   f"{state}. Install it with: {INSTALL_HINT}") from err
        folder = model_dir(name, dataset, threat_model)
        try:
            return load_model(model_name=name, model_dir=str(folder), dataset=dataset, threat_model=threat_model)
        except Exception as err:  # RobustBench raises whatever its download or load raised
            raise WeightsError(f"RobustBench could not provide '{name}' ({type(err).__name__}: {err}). Expected the "
                               f"checkpoint at {self.checkpoint()} (or under $ALMA_WEIGHTS_DIR/robustbench/); put it "
                               "there, or connect to the internet so that RobustBench can download it.") from err


def robustbench_builder(name: str, dataset: str, threat_model: str) -> RobustBenchModel:
    return RobustBenchModel(name, dataset, threat_model)
