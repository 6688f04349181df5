"""bench/gpu_check.py: its dry run (every step at tiny sizes, on the CPU) writes a report with every section, a CSV
that parses and the logs; and the sizing of Table 1 from a pilot run."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def _module():
    sys.path.insert(0, str(REPO / "bench"))  # the script imports `timing` from beside it
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_table1_estimate_from_two_budgets() -> None:
    check = _module()
    fixed, per_step = {"a": 0.5, "b": 2.0}, {"a": 0.01, "b": 0.04}
    rows = [{"model": m, "attack": a, "budget": b, "seconds": fixed[a] + b * per_step[a]}
            for m in ("m1", "m2") for a in fixed for b in (5, 25)]
    expected = sum(2 * (fixed[a] + 1000 * per_step[a]) for a in fixed)
    assert check.estimate_seconds(pd.DataFrame(rows), 1000) == pytest.approx(expected)
    rows[0]["seconds"] = 10.0  # the first run's warm-up: slower at 5 steps than at 25
    t25 = fixed["a"] + 25 * per_step["a"]
    assert check.estimate_seconds(pd.DataFrame(rows), 1000) == pytest.approx(expected - (fixed["a"] + 10)
                                                                             + t25 / 25 * 1000)


def test_images_that_fit() -> None:
    fit = _module().images_that_fit
    assert fit(100.0, 350.0) == 3000, "whole batches of 1000"
    assert fit(10.0, 1e6) == 10000, "at most the test set"
    assert fit(100.0, 50.0) == 250, "half a batch's time: a quarter of a batch (a GPU batch is not proportional)"
    assert fit(100.0, 0.0) == 10
    assert [fit(100.0, s) for s in (20, 60, 99, 100, 199, 200)] == sorted(fit(100.0, s) for s in (20, 60, 99, 100,
                                                                                                   199, 200))


@pytest.mark.slow
def test_dry_run_report(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_check.py"), str(out), "--dry-run",
                           "--budget-seconds", "540"], capture_output=True, text=True, timeout=590,
                          env={**os.environ, "ALMA_WEIGHTS_DIR": str(shared_data)})
    assert done.returncode == 0, done.stderr[-3000:]
    report = (out / "report.md").read_text()
    headings = [line for line in report.splitlines() if line.startswith("## ")]
    assert headings == ["## 1. Machine and CUDA tests", "## 2. Attack speed (bench/speed.py)",
                        "## 3. Distances (bench/distances.py)", "## 4. The explorer's jobs (ui.jobs)",
                        "## 5. Table 1 of the paper (bench/paper.py)"]
    assert "Failed:" not in report and "Not run" not in report and "Skipped" not in report, report
    assert "tests/gpu`: skipped (no CUDA)" in report
    assert "Geometric mean over the models" in report, "Table 1, merged by bench/paper.py --tables"

    rows = pd.read_csv(out / "raw.csv")
    assert set(rows["section"]) == {2, 3, 4, 5}
    by_item = rows.set_index("item")["value"]
    assert by_item["SmallCNN (MNIST-shaped), batch 8: c/a"] > 0
    assert by_item["ciede2000 / resnet50"] > 0
    assert (rows[rows["unit"] == "steps/s"]["value"] > 0).all() and len(rows[rows["unit"] == "steps/s"]) == 12
    assert by_item["images"] == 2 and by_item["estimated seconds per 2 images at budget 3"] > 0, "the pilot ran"
    table = rows[rows["item"].str.endswith(": asr")]
    assert len(table) == 9 and table["value"].between(0, 1).all(), "9 attacks on one model"
    with tarfile.open(out / "logs.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"logs/2_speed.log", "logs/3_distances.log", "logs/5_pilot.log", "logs/5_table1_1.log",
            "logs/table1_2_samples.csv"} <= names
