"""`alma-eval` end to end on 16 MNIST test images with two attacks: the files, the per-sample table and the summary."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from alma.evaluate.cli import main
from alma.evaluate.datasets import sha256
from alma.models import load_model

from .conftest import ATTACKS, arguments

METRICS = ("success", "distance", "best", "forwards", "backwards", "seconds")


@pytest.fixture(scope="module")
def run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("adv_lib")
    out = tmp_path_factory.mktemp("cli") / "out"
    assert main([*arguments(shared_data, out, n=16, batch_size=8), "--csv", "--eps", "l2=1,2"]) == 0
    return out


def test_files(run: Path) -> None:
    for name in ("samples.parquet", "samples.csv", "summary.md", "summary.json", "run.json", "curves.html",
                 "curves_l2.png"):
        assert (run / name).is_file(), name
    assert "<svg" in (run / "curves.html").read_text()
    assert sorted(p.name for p in (run / "chunks").iterdir()) == sorted(["clean", *ATTACKS])


def test_per_sample_table(run: Path, mnist_test) -> None:
    table = pd.read_parquet(run / "samples.parquet")
    assert list(table.columns) == ["index", "sha256", "label", "prediction",
                                   *(f"{a}.{m}" for a in ATTACKS for m in METRICS)]
    images, labels = mnist_test
    assert table["index"].tolist() == list(range(16))
    assert table["label"].tolist() == labels[:16].tolist()
    assert table["sha256"].tolist() == [sha256(image) for image in images[:16]]
    with torch.no_grad():
        assert table["prediction"].tolist() == load_model("mnist-smallcnn")(images[:16]).argmax(1).tolist()
    for attack in ATTACKS:
        assert (table[f"{attack}.forwards"] == 10).all() and (table[f"{attack}.backwards"] == 10).all()
        final, best = table[f"{attack}.distance"], table[f"{attack}.best"]
        assert (best <= final).all()
        assert np.isinf(final[~table[f"{attack}.success"]]).all()
        assert np.isfinite(final[table[f"{attack}.success"]]).all()
    pd.testing.assert_frame_equal(pd.read_csv(run / "samples.csv"), table, check_dtype=False)


def test_summary(run: Path) -> None:
    table = pd.read_parquet(run / "samples.parquet")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["n"] == 16 and summary["config"]["attacks"] == list(ATTACKS)
    assert summary["clean_accuracy"] == pytest.approx((table["prediction"] == table["label"]).mean())
    assert summary["eps"] == {"l2": [1.0, 2.0]}
    for row in summary["attacks"]:
        attack = row["attack"]
        assert row["asr"] == pytest.approx(table[f"{attack}.success"].mean())
        assert row["median_best"] == pytest.approx(np.median(table[f"{attack}.best"]))
        assert row["robust_accuracy"]["1.0"] == pytest.approx((table[f"{attack}.best"] > 1).mean())
        assert row["steps"] == 10 and row["forwards"] == 10
        assert 0 <= row["optimality"] <= 1
    assert max(r["optimality"] for r in summary["attacks"]) < 1 or len({tuple(table[f"{a}.best"])
                                                                        for a in ATTACKS}) == 1
    text = (run / "summary.md").read_text()
    assert "ALMA ℓ2 (ours)" in text and "DDN" in text and "--attacks alma-l2 ddn" in text and "torch " in text
