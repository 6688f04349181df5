"""bench/attackbench.py's report: AttackBench's ranking per distance, and where our ALMA stands on each model."""
from __future__ import annotations

import sys

import pandas as pd
import pytest

from .conftest import REPO


@pytest.fixture
def attackbench(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))  # the script imports `timing` from beside it
    import attackbench
    yield attackbench
    sys.modules.pop("attackbench", None)


def test_ranking_and_verdicts(attackbench) -> None:
    rows = pd.DataFrame([
        {"model": "m1", "distance": "l2", "attack": "alma-l2", "optimality": 0.9, "steps": 1000},
        {"model": "m1", "distance": "l2", "attack": "adv_lib-alma-l2", "optimality": 0.8, "steps": 1000},
        {"model": "m1", "distance": "l2", "attack": "ddn", "optimality": 0.72, "steps": 1000},
        {"model": "m2", "distance": "l2", "attack": "alma-l2", "optimality": 0.6, "steps": 1000},
        {"model": "m2", "distance": "l2", "attack": "adv_lib-alma-l2", "optimality": 0.65, "steps": 1000},
        {"model": "m2", "distance": "l2", "attack": "ddn", "optimality": 0.75, "steps": 1000}])
    text = attackbench.report(rows, "header")
    table = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert table == ["| 1 | ALMA ℓ2 (ours) | 1000 | 0.900 | 0.600 | 0.750 |",
                     "| 2 | DDN | 1000 | 0.720 | 0.750 | 0.735 |",
                     "| 3 | ALMA ℓ2 (adv_lib) | 1000 | 0.800 | 0.650 | 0.725 |"]
    assert "- m1: our ALMA 0.900, first; adv_lib's ALMA 0.800 (not above ours)" in text
    assert "- m2: our ALMA 0.600, beaten by DDN by 0.150; adv_lib's ALMA 0.650 (ABOVE ours)" in text
