"""Table 1 of the paper (MNIST) on the paper's three SmallCNNs: every attack at every budget, beside the paper's figure.

    python bench/paper.py                                   # first 1000 test images, budgets 100 and 1000
    python bench/paper.py --n 64 --budgets 100 --device cpu --out bench/out/paper_n64

For each model, attack and budget: ASR (success by argmax on the returned images), median distance (failures count
as +inf, so "–" when half or more failed), forwards / backwards per sample (counted with hooks) and wall time; then
the geometric mean over the models, as the paper reports it, beside the paper's geometric mean (over four models:
these three and CROWN-IBP, which is not available; whole test set). At the paper's budgets (100, 1000) an attack
runs only where the paper reports it (APGD-T: its single row, 100 iterations per APGD run); other budgets run for
every attack.
Writes OUT.csv (one row per model, attack, budget), OUT_samples.csv (per-sample distances, for bench/curves.py) and
OUT.md (the tables); prints the markdown and the machine. `--tables A.csv B.csv` prints the tables of several runs
(e.g. split by attack over processes) as one. Weights and MNIST come from --data (default
$ALMA_WEIGHTS_DIR, else ../shared/data).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from alma.compare import ATTACKS, get_attack, run_attack, samples_frame, summary_frame
from alma.models import get_info, load_model
from alma.models.mnist import load_mnist

from timing import machine

REPO = Path(__file__).resolve().parents[1]
MODELS = ("mnist-smallcnn-paper", "mnist-smallcnn-ddn", "mnist-smallcnn-trades")
Figure = tuple[float, float | None, float, float]  # ASR %, median (None: undefined), forwards, backwards
_ALMA_L1 = {100: (99.90, 11.45, 100, 100), 1000: (100.0, 7.16, 1000, 1000)}
_ALMA_L2 = {100: (99.72, 2.38, 100, 100), 1000: (100.0, 1.61, 1000, 1000)}
PAPER: dict[str, dict[int, Figure]] = {  # Table 1: geometric mean over SmallCNN, -DDN, -TRADES and CROWN-IBP
    "alma-l1": _ALMA_L1, "adv_lib-alma-l1": _ALMA_L1, "alma-l2": _ALMA_L2, "adv_lib-alma-l2": _ALMA_L2,
    "fab-l1": {100: (99.80, 27.41, 201, 1000), 1000: (99.83, 24.21, 2001, 10000)},
    "fmn-l1": {100: (69.87, None, 100, 100), 1000: (95.35, 7.34, 1000, 1000)},
    "cw-l2": {100: (40.19, None, 8643, 8643), 1000: (40.20, None, 85907, 85907)},
    "ddn": {100: (98.48, 1.86, 100, 100), 1000: (99.83, 1.61, 1000, 1000)},
    "fab-l2": {100: (83.25, 2.10, 201, 1000), 1000: (96.28, 1.77, 2001, 10000)},
    "fmn-l2": {100: (70.99, 3.18, 100, 100), 1000: (96.02, 1.77, 1000, 1000)},
    "apgd-t-l2": {100: (99.98, 2.52, 12271, 12253)},
}
DEFAULT_ATTACKS = tuple(a for a in ATTACKS if a in PAPER)
PAPER_BUDGETS = (100, 1000)


def skipped(attack: str, budget: int) -> bool:
    """A paper budget (100 or 1000) at which the paper does not report this attack (APGD-T at 1000)."""
    return budget in PAPER_BUDGETS and attack in PAPER and budget not in PAPER[attack]


def geomean(values: pd.Series) -> float:
    with np.errstate(divide="ignore"):
        return float(np.exp(np.log(values.to_numpy(dtype=float)).mean()))


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}g}"


def _calls(forwards: float, backwards: float) -> str:
    return f"{forwards:.0f} / {backwards:.0f}"


def markdown(summary: pd.DataFrame, header: str) -> str:
    """The geometric-mean table beside the paper's figures, then one table per model."""
    lines = [header, "", "Geometric mean over the models (paper: over four models, whole test set):", "",
             "| attack | budget | ASR % | paper | median | paper | forwards / backwards | paper | time (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (attack, budget), rows in summary.groupby(["attack", "budget"], sort=False):
        paper = PAPER.get(attack, {}).get(budget)
        asr = 100 * geomean(rows["asr"])
        lines.append(f"| {rows['label'].iloc[0]} | {budget} | {asr:.2f} | {f'{paper[0]:.2f}' if paper else '–'} | "
                     f"{_number(geomean(rows['median']))} | {_number(paper and paper[1], 4)} | "
                     f"{_calls(geomean(rows['forwards']), geomean(rows['backwards']))} | "
                     f"{_calls(paper[2], paper[3]) if paper else '–'} | {rows['seconds'].sum():.1f} |")
    for model, rows in summary.groupby("model", sort=False):
        lines += ["", f"{get_info(model).label} (`{model}`), n = {rows['n'].iloc[0]}:", "",
                  "| attack | budget | ASR % | median | forwards / backwards | time (s) |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {r.label} | {r.budget} | {100 * r.asr:.2f} | {_number(r.median)} | "
                  f"{_calls(r.forwards, r.backwards)} | {r.seconds:.1f} |" for r in rows.itertuples()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="the first N MNIST test images")
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--attacks", nargs="+", default=list(DEFAULT_ATTACKS), choices=list(ATTACKS), metavar="NAME",
                        help=f"default: those of Table 1; any of {', '.join(ATTACKS)}")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=1000, help="images per attack call")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ALMA_WEIGHTS_DIR") or REPO.parent / "shared"
                                                          / "data"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "paper")
    parser.add_argument("--tables", type=Path, nargs="+", metavar="CSV",
                        help="run nothing: print the tables of earlier runs' OUT.csv files (e.g. runs split by attack)")
    args = parser.parse_args()
    if args.tables:
        runs = pd.concat(map(pd.read_csv, args.tables), ignore_index=True)
        runs = runs.sort_values(["budget", "distance", "attack"], kind="stable",  # as in Table 1
                                key=lambda c: c.map(list(ATTACKS).index) if c.name == "attack" else c)
        print(markdown(runs, "Tables of " + ", ".join(f"`{path}`" for path in args.tables)))
        return
    os.environ.setdefault("ALMA_WEIGHTS_DIR", str(args.data))
    device = torch.device(args.device)
    images, labels = load_mnist(args.data / "mnist", train=False)
    x, y = images[:args.n].to(device), labels[:args.n].to(device)
    began = time.perf_counter()
    summaries, samples = [], []
    for name in args.models:
        model = load_model(name, device)
        for attack in map(get_attack, args.attacks):
            for budget in filter(lambda b: not skipped(attack.name, b), args.budgets):
                run = run_attack(model, x, y, attack, budget, seed=args.seed, batch_size=args.batch_size)
                print(f"{name} {attack.name} {budget}: ASR {100 * run.asr:.2f} %, median {run.median:.4g}, "
                      f"{run.forwards:.0f} / {run.backwards:.0f} calls, {run.seconds:.1f} s", file=sys.stderr)
                summaries.append(summary_frame([run]).assign(model=name))
                samples.append(samples_frame([run]).assign(model=name))
    summary, per_sample = pd.concat(summaries, ignore_index=True), pd.concat(samples, ignore_index=True)
    header = (f"MNIST, first {len(x)} test images; {machine(device)}; total {time.perf_counter() - began:.0f} s.\n"
              f"Command: `python {' '.join(sys.argv)}`")
    text = markdown(summary, header)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.out.with_suffix(".csv"), index=False)
    per_sample.to_csv(args.out.with_name(args.out.name + "_samples.csv"), index=False)
    args.out.with_suffix(".md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
