"""One rank's share of an evaluation: for each of its chunks, the clean columns, then every attack under the query
budget, each written as its own chunk file; chunks already on disk are skipped."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from ..compare import run_attack
from . import chunks as ch
from .config import EvalConfig
from .datasets import Dataset, sha256
from .distributed import Ranks


def _clean(model: nn.Module, data: Dataset, chunk: ch.Chunk, device: torch.device) -> pd.DataFrame:
    x = data.images[chunk[0]:chunk[1]]
    with torch.no_grad():
        prediction = model(x.to(device)).argmax(1).cpu()
    return pd.DataFrame({"index": range(*chunk), "sha256": [sha256(image) for image in x],
                         "label": data.labels[chunk[0]:chunk[1]].numpy(), "prediction": prediction.numpy()})


def _attack(model: nn.Module, data: Dataset, chunk: ch.Chunk, attack: str, steps: int, config: EvalConfig,
            device: torch.device) -> pd.DataFrame:
    x, y = data.images[chunk[0]:chunk[1]].to(device), data.labels[chunk[0]:chunk[1]].to(device)
    run = run_attack(model, x, y, attack, steps, seed=config.seed + chunk[0], query_budget=config.budget)
    return pd.DataFrame({"index": range(*chunk), "success": run.success.numpy(),
                         "distance": run.distances.double().numpy(), "best": run.best.double().numpy(),
                         "forwards": run.sample_forwards, "backwards": run.sample_backwards,
                         "seconds": run.seconds / len(x)})


def run_share(model: nn.Module, data: Dataset, config: EvalConfig, out: Path, ranks: Ranks, device: torch.device,
              quiet: bool) -> None:
    """Computes this rank's missing chunk files; progress (samples done, ETA) per attack on rank 0's terminal."""
    mine = ranks.mine(ch.plan(config.start, config.n, config.batch_size))
    show = not quiet and ranks.is_main and sys.stderr.isatty()
    for chunk in mine:
        target = ch.path(out, ch.CLEAN, chunk)
        if not target.exists():
            ch.write(_clean(model, data, chunk, device), target)
    for attack, steps in zip(config.attacks, config.steps):
        todo = [c for c in mine if not ch.path(out, attack, c).exists()]
        with tqdm(total=sum(b - a for a, b in mine), initial=sum(b - a for a, b in mine) - sum(b - a for a, b in todo),
                  desc=attack, unit="sample", disable=not show, file=sys.stderr) as bar:
            for chunk in todo:
                ch.write(_attack(model, data, chunk, attack, steps, config, device), ch.path(out, attack, chunk))
                bar.update(chunk[1] - chunk[0])
