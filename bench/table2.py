"""The paper's Table 2 (CIFAR-10, perceptual distances), reduced to the offline models: ALMA CIEDE2000 against PerC-AL
and a C&W-type CIEDE2000 baseline, and ALMA LPIPS against a C&W-type LPIPS baseline, on ResNet-20 and the PGD-trained
ResNet-4B, beside the paper's figures.

    python bench/table2.py                                          # first 200 test images, budget 100
    python bench/table2.py --n 16 --budgets 10 --device cpu --out bench/out/table2_n16

Medians are given in this project's metrics (true CIEDE2000, LPIPS v0.1) and in adv_lib's (its CIEDE2000 is scaled
by about 0.22, its LPIPS is unweighted and square-rooted), which the paper used. The paper's figures are geometric
means over its RobustBench models (not offline here) at budget 1000, so they only frame ours. Writes OUT.csv and
OUT.md; prints the table and the machine.
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

from alma import distances
from alma.compare import get_attack, median_distance, run_attack
from alma.evaluate import load_dataset
from alma.models import get_info, load_model

from timing import machine

REPO = Path(__file__).resolve().parents[1]
MODELS = ("cifar10-resnet20", "cifar10-resnet4b-pgd")
ATTACKS = ("alma-ciede2000", "perc-al", "cw-ciede2000", "alma-lpips", "cw-lpips")
ADV_LIB_METRIC = {"ciede2000": "ciede2000_adv_lib", "lpips": "lpips_adv_lib"}
PAPER = {"alma-ciede2000": "100 %, 0.78 (adv_lib scale, budget 1000)",
         "alma-lpips": "100 %, 0.60e-2 (adv_lib LPIPS, budget 1000)"}


def measure(model: str, attack: str, budget: int, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> dict:
    net = load_model(model, x.device)
    run = run_attack(net, x, y, attack, budget, batch_size=batch_size)
    theirs = distances.get(ADV_LIB_METRIC[run.distance]).build(x)(run.adv_inputs.to(x.device)).cpu().double()
    theirs = theirs.masked_fill(~run.success, float("inf"))
    return {"model": model, "attack": attack, "label": run.label, "distance": run.distance, "budget": budget,
            "n": len(x), "asr": run.asr, "median": run.median, "median_adv_lib": median_distance(theirs),
            "forwards": run.forwards, "backwards": run.backwards, "seconds": run.seconds}


def markdown(rows: pd.DataFrame, header: str) -> str:
    lines = [header, "", "| model | attack | budget | ASR % | median | median (adv_lib metric) | fwd / bwd | time (s) "
             "| paper |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    number = lambda v: "–" if not np.isfinite(v) else f"{v:.4g}"  # noqa: E731
    for r in rows.itertuples():
        lines.append(f"| {r.model} | {r.label} | {r.budget} | {100 * r.asr:.1f} | {number(r.median)} | "
                     f"{number(r.median_adv_lib)} | {r.forwards:.0f} / {r.backwards:.0f} | {r.seconds:.1f} | "
                     f"{PAPER.get(r.attack, '–')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--budgets", type=int, nargs="+", default=[100])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--attacks", nargs="+", default=list(ATTACKS))
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ALMA_WEIGHTS_DIR") or REPO.parent / "shared"
                                                          / "data"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "table2")
    args = parser.parse_args()
    os.environ.setdefault("ALMA_WEIGHTS_DIR", str(args.data))
    device = torch.device(args.device)
    data = load_dataset("cifar10", args.data, get_info(args.models[0]))
    x, y = data.images[:args.n].to(device), data.labels[:args.n].to(device)
    began = time.perf_counter()
    rows = []
    for model in args.models:
        for attack in map(lambda a: get_attack(a).name, args.attacks):
            for budget in args.budgets:
                rows.append(measure(model, attack, budget, x, y, args.batch_size))
                print(rows[-1], file=sys.stderr)
    table = pd.DataFrame(rows)
    header = (f"CIFAR-10, first {len(x)} test images; {machine(device)}; total {time.perf_counter() - began:.0f} s.\n"
              f"Command: `python {' '.join(sys.argv)}`")
    text = markdown(table, header)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    args.out.with_suffix(".md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
