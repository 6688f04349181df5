"""bench/paper.py end to end on a tiny run: its CSV, per-sample CSV and markdown agree with each other and with the
attacks' known costs, and `--tables` merges two runs into one table."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL = "mnist-smallcnn-paper"
ATTACKS = ("alma-l2", "ddn")


def _paper(*args: str) -> str:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "paper.py"), *args], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_tiny_table_and_its_merge(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("adv_lib")
    common = ["--n", "6", "--budgets", "10", "--models", MODEL, "--device", "cpu", "--data", str(shared_data)]
    text = _paper(*common, "--attacks", *ATTACKS, "--out", str(tmp_path / "a"))
    summary, samples = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "a_samples.csv")
    assert summary["attack"].tolist() == list(ATTACKS) and (summary["n"] == 6).all()
    assert (summary[["forwards", "backwards"]] == 10).all().all(), "10 steps: 10 forwards and 10 backwards each"
    for row in summary.itertuples():
        values = samples[samples["attack"] == row.attack]
        assert len(values) == 6 and row.asr == pytest.approx(values["success"].mean())
        distances = np.where(values["success"], values["value"], np.inf)
        assert row.median == pytest.approx(np.median(distances))
    assert "| ALMA ℓ2 (ours) | 10 |" in text and "| DDN | 10 |" in text
    assert (tmp_path / "a.md").read_text().strip() == text.strip()

    _paper(*common, "--attacks", "fmn-l1", "--out", str(tmp_path / "b"))
    merged = _paper("--tables", str(tmp_path / "b.csv"), str(tmp_path / "a.csv"))
    rows = [line.split(" | ")[0].lstrip("| ") for line in merged.splitlines() if line.startswith("| ")]
    assert rows[1:4] == ["FMN ℓ1", "ALMA ℓ2 (ours)", "DDN"], "ℓ1 before ℓ2, as in Table 1"
