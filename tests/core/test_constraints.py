"""Constraint functions against the reference's DLR, the targeted margin fix and the few-class fallback."""
from __future__ import annotations

import pytest
import torch

from alma.constraints import make_constraint

losses = pytest.importorskip("adv_lib.utils.losses")
KAPPA = 1e-4


def random_logits(batch: int = 32, classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(classes)
    return 3 * torch.randn(batch, classes, generator=gen), torch.randint(classes, (batch,), generator=gen)


def test_untargeted_dlr_is_the_references() -> None:
    logits, labels = random_logits()
    ours = make_constraint("dlr", logits, labels, targeted=False)(logits)
    theirs = losses.difference_of_logits_ratio(logits, labels, targeted=False, ε=KAPPA)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_targeted_dlr_is_the_references_with_the_tolerance_as_a_margin() -> None:
    logits, targets = random_logits()
    ours = make_constraint("dlr", logits, targets, targeted=True)(logits)
    theirs = -losses.difference_of_logits_ratio(logits, targets, targeted=True, ε=-KAPPA)
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("targeted", [False, True])
def test_tolerance_is_a_margin_on_the_adversarial_side(targeted: bool) -> None:
    """The label's logit set just short of, or just past, the others' maximum ± κ."""
    label = torch.tensor([0])
    for gap, adversarial in ((KAPPA / 2, False), (2 * KAPPA, True)):
        logits = torch.tensor([[0.0, 1.0, 0.5, -1.0, 0.2]])
        # untargeted: adversarial needs z_y < max_other − κ; targeted: z_t > max_other + κ
        logits[0, 0] = 1.0 + gap if targeted else 1.0 - gap
        c = make_constraint("dlr", logits, label, targeted)(logits)
        assert bool(c < 0) is adversarial


def test_the_reference_targeted_tolerance_is_a_slack() -> None:
    """What the fix is about: the reference counts z_t = max_other − κ/2 as a targeted success."""
    logits, label = torch.tensor([[1.0 - KAPPA / 2, 1.0, 0.5, -1.0, 0.2]]), torch.tensor([0])
    assert -losses.difference_of_logits_ratio(logits, label, targeted=True, ε=KAPPA) < 0
    assert make_constraint("dlr", logits, label, targeted=True)(logits) > 0


@pytest.mark.parametrize("classes, targeted", [(2, False), (2, True), (3, True)])
def test_few_classes_fall_back_to_a_normalised_logit_difference(classes: int, targeted: bool) -> None:
    logits, labels = random_logits(classes=classes)
    fn = make_constraint("dlr", logits, labels, targeted)
    c = fn(logits)
    assert torch.isfinite(c).all()
    clean_margin = logits.gather(1, labels[:, None]).squeeze(1) - logits.scatter(1, labels[:, None], -1e9).amax(1)
    assert ((c.abs() - 1).abs() <= KAPPA / clean_margin.abs() + 1e-6).all()  # ±1 at the clean input, up to κ
    moved = logits + torch.randn(logits.shape, generator=torch.Generator().manual_seed(1))
    margin = moved.gather(1, labels[:, None]).squeeze(1) - moved.scatter(1, labels[:, None], -1e9).amax(1)
    expected_adv = margin > KAPPA if targeted else margin < -KAPPA
    assert torch.equal(fn(moved) < 0, expected_adv)
    # invariant to shift/scale, except for κ, which does not scale: (2m ± κ)/2s against (m ± κ)/s; the 1e-5/s is
    # float32 rounding of the shifted logits (about 11) over a small clean margin s
    shifted = make_constraint("dlr", 2 * logits + 5, labels, targeted)(2 * moved + 5)
    assert ((shifted - fn(moved)).abs() <= (KAPPA / 2 + 1e-5) / clean_margin.abs() + 1e-5).all()


def test_logit_difference() -> None:
    logits, labels = random_logits()
    c = make_constraint("logit_diff", logits, labels, targeted=False)(logits)
    torch.testing.assert_close(c, losses.difference_of_logits(logits, labels) + KAPPA)


def test_labels_outside_the_models_classes_are_rejected() -> None:
    logits, _ = random_logits(classes=4)
    with pytest.raises(ValueError, match=r"class indices in \[0, 4\)"):
        make_constraint("dlr", logits, torch.full((len(logits),), 7), targeted=False)
    with pytest.raises(ValueError, match="unknown constraint"):
        make_constraint("hinge", logits, torch.zeros(len(logits), dtype=torch.long), targeted=False)
