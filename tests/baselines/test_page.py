"""The "Compare attacks" page, driven headless: a tiny comparison shows its table, curves and adversarials."""
from __future__ import annotations

from pathlib import Path

import pytest

from alma.compare import ATTACKS, AttackSpec

pytest.importorskip("adv_lib")
AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "pages" / "5_Compare_attacks.py"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.syspath_prepend(str(REPO))  # the page imports `ui`
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def run(at: AppTest, attacks: list[str], inputs: str = "One image") -> AppTest:
    at.multiselect(key="cmp_attacks").set_value(attacks)
    at.segmented_control(key="cmp_budget").set_value("10")
    at.segmented_control(key="cmp_inputs").set_value(inputs)
    at.run()
    at.button(key="cmp_run").click().run()
    assert not at.exception
    return at


def test_one_image(page: AppTest) -> None:
    at = run(page, ["alma-l2", "ddn"])
    assert not at.error
    table = at.dataframe[0].value
    assert table["attack"].tolist() == ["ALMA ℓ2 (ours)", "DDN"]
    assert table["forwards / sample"].tolist() == [10, 10] and table["success"].isin(["yes", "no"]).all()
    captions = [caption for image in at.image for caption in image.captions]
    assert any(c.startswith("original") for c in captions)
    assert any(c.startswith("ALMA ℓ2 (ours): ") for c in captions) and any(c.startswith("DDN: ") for c in captions)


def test_every_sample(page: AppTest) -> None:
    at = run(page, ["alma-l1"], "Every sample")
    assert not at.error
    assert at.dataframe[0].value["success"].str.endswith("%").all()
    assert len(at.selectbox(key="cmp_shown").options) == 10  # the ten drawn digits


def test_a_failing_attack_is_a_message(page: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(model, inputs, labels, budget):
        raise RuntimeError("boom")

    monkeypatch.setitem(ATTACKS, "ddn", AttackSpec("ddn", "DDN", "l2", broken, "N"))
    at = run(page, ["alma-l2", "ddn"])
    assert len(at.error) == 1 and "DDN" in at.error[0].value and "boom" in at.error[0].value
    assert at.dataframe[0].value["attack"].tolist() == ["ALMA ℓ2 (ours)"]
