"""A small evaluation shared by the tests: 8 MNIST test images, two attacks, 10 steps, chunks of 2 samples."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alma.evaluate.cli import main

REPO = Path(__file__).resolve().parents[2]
ATTACKS = ("alma-l2", "ddn")


def arguments(data: Path, out: Path, n: int = 8, batch_size: int = 2, steps: int = 10) -> list[str]:
    return ["--model", "mnist-smallcnn", "--dataset", "mnist", "--data", str(data), "--num-samples", str(n),
            "--attacks", *ATTACKS, "--steps", str(steps), "--batch-size", str(batch_size), "--device", "cpu", "--quiet",
            "--out", str(out)]


@pytest.fixture(scope="session")
def reference(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The per-sample table of the small evaluation, run in this process in one go."""
    pytest.importorskip("adv_lib")
    out = tmp_path_factory.mktemp("reference")
    assert main(arguments(shared_data, out)) == 0
    return pd.read_parquet(out / "samples.parquet")


def assert_same_table(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal results: exact for labels, predictions, success and counts; floats to float32's rounding; times aside."""
    assert list(table.columns) == list(expected.columns)
    for column in expected.columns:
        if column.endswith(".seconds"):
            continue
        if expected[column].dtype.kind == "f":
            np.testing.assert_allclose(table[column], expected[column], rtol=1e-5, err_msg=column)
        else:
            assert table[column].tolist() == expected[column].tolist(), column
