"""bench/curves.py end to end: the robust-accuracy curves of a samples CSV exported as PNG (kaleido drives the same
chromium as the browser test), one per model, each showing one coloured line per attack."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ui.compare import EXPORT_WIDTH, HEIGHT

REPO = Path(__file__).resolve().parents[2]
ATTACK_COLORS = {"alma-l2": (99, 110, 250), "ddn": (239, 85, 59)}
"""The first two colours of Plotly's qualitative palette, which the curves take in the attacks' order."""


def _samples(path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [dict(attack=attack, label=attack.upper(), distance="l2", budget=100, sample=i, success=True,
                 value=float(rng.exponential(1 + k)), model=model)
            for model in ("mnist-smallcnn", "mnist-smallcnn-pgd-l2") for k, attack in enumerate(ATTACK_COLORS)
            for i in range(40)]
    pd.DataFrame(rows).to_csv(path, index=False)


def _has_color(image: Image.Image, rgb: tuple[int, int, int]) -> bool:
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    return bool((np.abs(pixels - rgb).sum(axis=1) < 30).sum() > 200)


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("google-chrome") is None,
                    reason="no Chrome or Chromium for kaleido (make chromium)")
def test_curves_are_exported_as_png(tmp_path: Path) -> None:
    pytest.importorskip("kaleido")
    csv = tmp_path / "run_samples.csv"
    _samples(csv)
    done = subprocess.run([sys.executable, str(REPO / "bench" / "curves.py"), str(csv)], capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    for model in ("mnist-smallcnn", "mnist-smallcnn-pgd-l2"):
        path = tmp_path / f"run_samples_{model}.png"
        assert f"{model}: {path}\n" in done.stdout
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (2 * EXPORT_WIDTH, 2 * (HEIGHT + 40))
            assert all(_has_color(image, rgb) for rgb in ATTACK_COLORS.values())
    assert not list(tmp_path.glob("*.html"))
