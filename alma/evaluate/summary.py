"""The summary of a per-sample table: per attack its ASR, median distances, robust accuracy at chosen distance
budgets ε, calls and time, and AttackBench's local optimality among the attacks of the same distance; written as
summary.json and summary.md with the exact command and package versions."""
from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ..compare import ATTACKS, median_distance, robust_accuracy
from .config import EvalConfig
from .optimality import envelope, local_optimality
from .steps import how_counted

PACKAGES = ("alma", "torch", "torchvision", "numpy", "pandas", "pyarrow", "adv-lib", "lpips")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def attack_distances(table: pd.DataFrame, attacks: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
    """distance -> attack -> per-sample best distance at any query, 0 where the clean input is misclassified."""
    correct = (table["prediction"] == table["label"]).to_numpy()
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for attack in attacks:
        values = np.where(correct, table[f"{attack}.best"].to_numpy(dtype=float), 0.0)
        grouped.setdefault(ATTACKS[attack].distance, {})[attack] = values
    return grouped


def default_eps(values: Mapping[str, np.ndarray]) -> list[float]:
    """The quartiles of the envelope's finite, positive distances (none when there are none)."""
    best = envelope(values)
    finite = best[np.isfinite(best) & (best > 0)]
    return [float(f"{q:.3g}") for q in np.quantile(finite, (0.25, 0.5, 0.75))] if len(finite) else []


def summarise(table: pd.DataFrame, config: EvalConfig, command: list[str],
              eps: Mapping[str, list[float]] | None = None) -> dict:
    """The summary as a JSON-ready dict (see the module docstring); `eps`: distance -> budgets (default: quartiles)."""
    correct = (table["prediction"] == table["label"]).to_numpy()
    grouped = attack_distances(table, config.attacks)
    chosen = {d: list((eps or {}).get(d) or default_eps(values)) for d, values in grouped.items()}
    rows = []
    for distance, values in grouped.items():
        optimality = local_optimality(values, correct)
        for attack, best in values.items():
            steps = config.steps[config.attacks.index(attack)]
            rows.append({
                "attack": attack, "label": ATTACKS[attack].label, "distance": distance, "steps": steps,
                "cost": how_counted(attack), "asr": float(table[f"{attack}.success"].mean()),
                "median_distance": median_distance(table[f"{attack}.distance"].to_numpy(dtype=float)),
                "median_best": median_distance(best),
                "robust_accuracy": dict(zip(map(str, chosen[distance]),
                                            robust_accuracy(best, chosen[distance]).tolist())),
                "forwards": float(table[f"{attack}.forwards"].mean()),
                "backwards": float(table[f"{attack}.backwards"].mean()),
                "seconds": float(table[f"{attack}.seconds"].sum()), "optimality": optimality[attack]})
    return {"command": command, "versions": versions(), "config": config.identity(), "n": len(table),
            "clean_accuracy": float(correct.mean()), "budget": config.budget, "eps": chosen, "attacks": rows}


def _number(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.4g}"


def markdown(summary: dict) -> str:
    config = summary["config"]
    lines = [f"# {config['model']} on {config['dataset']} [{config['start']}, {config['start'] + config['n']})", "",
             f"{summary['n']} samples; clean accuracy {100 * summary['clean_accuracy']:.2f} %; query budget "
             f"{summary['budget']} forwards + backwards per sample (AttackBench). Distances are the best adversarial "
             "at any query; optimality is AttackBench's local optimality among the attacks of the same distance.", "",
             "| attack | distance | steps (cost) | ASR % | median final | median best | forwards | backwards | "
             "time (s) | optimality |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary["attacks"]:
        lines.append(f"| {r['label']} | {r['distance']} | {r['steps']} ({r['cost']}) | {100 * r['asr']:.2f} | "
                     f"{_number(r['median_distance'])} | {_number(r['median_best'])} | {r['forwards']:.1f} | "
                     f"{r['backwards']:.1f} | {r['seconds']:.1f} | {_number(r['optimality'])} |")
    lines += ["", "Robust accuracy (%) at distance budgets ε:", ""]
    for distance, budgets in summary["eps"].items():
        if not budgets:
            continue
        lines += [f"| {distance} | " + " | ".join(f"ε = {e:g}" for e in budgets) + " |",
                  "|---|" + "---:|" * len(budgets)]
        lines += [f"| {r['label']} | " + " | ".join(f"{100 * v:.1f}" for v in r["robust_accuracy"].values()) + " |"
                  for r in summary["attacks"] if r["distance"] == distance]
        lines.append("")
    lines += ["Command: `" + " ".join(summary["command"]) + "`", "",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in summary["versions"].items())]
    return "\n".join(lines) + "\n"


def _finite(value: object) -> object:
    """JSON has no infinity: non-finite numbers become null."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_summary(summary: dict, out: Path) -> None:
    (out / "summary.json").write_text(json.dumps(_finite(summary), indent=1, allow_nan=False))
    (out / "summary.md").write_text(markdown(summary))
