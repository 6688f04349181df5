"""Robust-accuracy curves (the paper's Figures 4 and 5) from the per-sample distances that bench/paper.py wrote.

    python bench/curves.py bench/out/paper_samples.csv

One figure per model, one panel per distance (ℓ1, ℓ2, …), the smaller budgets dotted. Written next to the CSV as
<csv stem>_<model>.png with kaleido (requirements-dev.txt; it drives an installed Chrome or Chromium), else as .html
(with plotly.min.js beside it, viewable offline).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `ui` when run as a script

from alma.models import get_info  # noqa: E402
from ui.compare import export_figure, robust_accuracy_figure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("samples", type=Path, help="OUT_samples.csv written by bench/paper.py")
    args = parser.parse_args()
    samples = pd.read_csv(args.samples)
    for model, rows in samples.groupby("model", sort=False):
        fig = robust_accuracy_figure(rows, f"{get_info(model).label}: robust accuracy, first {rows['sample'].nunique()}"
                                           " MNIST test images")
        path = export_figure(fig, args.samples.with_name(f"{args.samples.stem}_{model}"))
        print(f"{model}: {path}" + ("" if path.suffix == ".png" else " (HTML: no kaleido, or no browser for it)"))


if __name__ == "__main__":
    main()
