"""The attacks to compare: ours and adv_lib's baselines, each a plain function `(model, inputs, labels, budget) -> adv`.

Every baseline is adv_lib 0.2.8's own code (imported when called, so `alma` runs without it); only the mapping from one
budget N (the paper's 100 or 1000) to each attack's settings lives here, as in the paper's Table 1:

- ALMA (ours and adv_lib's), DDN, FMN: N steps (α = 0.5 for N ≤ 100 else 0.9, ε per distance, for both ALMAs).
- FAB: N iterations of one run; each costs 2 forwards and K − 1 backwards (K classes).
- C&W ℓ2: 9 binary-search steps × 10N iterations with early abort (the paper's 9×1000 beside 100, 9×10 000 beside
  1000); adv_lib's defaults otherwise (lr 0.01, initial constant 1e-3).
- APGD-T ℓ2 + binary search (`minimal_apgd`, DLR loss, the K − 1 most likely targets): N iterations per APGD run (the
  paper: 100); the binary search starts at ε = √d / 4 (range up to 2ε) and runs until its precision is ≤ 0.01.
- C&W-type CIEDE2000 / LPIPS (`alma.compare.cw_type`, the baselines of the paper's Table 2): 5 searches of the
  constant × max(1, N // 5) Adam iterations.
- PerC-AL: N iterations. It needs RGB: a grayscale image is attacked as R = G = B through a wrapper that gives the
  model the channel mean, and the channel mean of the result is returned (the model sees exactly that image).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from .. import distances
from ..attack import attack
from .cw_type import cw_type

AttackFn = Callable[[nn.Module, Tensor, Tensor, int], Tensor]
"""(model, inputs [B, C, H, W] in [0, 1], labels [B], budget N) -> adversarial inputs, same shape."""

APGD_PRECISION = 0.01


@dataclass(frozen=True)
class AttackSpec:
    """An attack to compare: its function, the distance it minimises, and what the budget N means for it."""

    name: str
    label: str
    distance: str
    run: AttackFn
    budget: str
    library: str = "adv_lib"


def paper_alpha(budget: int) -> float:
    """ALMA's α for a budget, as in the paper: 0.5 for 100 steps (or fewer), 0.9 above."""
    return 0.5 if budget <= 100 else 0.9


def _ours(distance: str) -> AttackFn:
    def run(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
        return attack(model, inputs, labels, distance=distance, num_steps=budget, record=False).adv_inputs
    return run


def _adv_lib_alma(distance: str) -> AttackFn:
    def run(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
        from adv_lib.attacks import alma
        return alma(model, inputs, labels, distance=distance, num_steps=budget, α=paper_alpha(budget),
                    init_lr_distance=distances.get(distance).eps_for(inputs))
    return run


def _ddn(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
    from adv_lib.attacks import ddn
    return ddn(model, inputs, labels, steps=budget)


def _fmn(norm: int) -> AttackFn:
    def run(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
        from adv_lib.attacks import fmn
        return fmn(model, inputs, labels, norm=norm, steps=budget)
    return run


def _fab(norm: int) -> AttackFn:
    def run(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
        from adv_lib.attacks import fab
        return fab(model, inputs, labels, norm=norm, n_iter=budget)
    return run


def _carlini_wagner(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
    from adv_lib.attacks import carlini_wagner_l2
    return carlini_wagner_l2(model, inputs, labels, binary_search_steps=9, max_iterations=10 * budget)


def apgd_search(inputs: Tensor) -> tuple[float, int]:
    """Start ε (√d / 4; the search covers [0, 2ε]) and binary-search steps to reach `APGD_PRECISION`."""
    max_eps = math.sqrt(inputs[0].numel()) / 4
    return max_eps, math.ceil(math.log2(2 * max_eps / APGD_PRECISION))


def _apgd_targeted(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
    from adv_lib.attacks.auto_pgd import minimal_apgd
    max_eps, steps = apgd_search(inputs)
    return minimal_apgd(model, inputs, labels, norm=2, max_eps=max_eps, binary_search_steps=steps,
                        targeted_version=True, n_iter=budget)


class _GrayModel(nn.Module):
    """Takes RGB images and gives the wrapped grayscale model their channel mean."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x.mean(1, keepdim=True))


def _perc_al(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
    from adv_lib.attacks import perc_al
    channels = inputs.shape[1]
    if channels not in (1, 3):
        raise ValueError(f"PerC-AL needs RGB or grayscale images, got {channels} channels")
    gray = channels == 1
    rgb, target = (inputs.repeat(1, 3, 1, 1), _GrayModel(model)) if gray else (inputs, model)
    # num_classes only matters with a confidence > 0, which is not used here
    adv = perc_al(target, rgb, labels, num_classes=0, max_iterations=budget)
    return adv.mean(1, keepdim=True) if gray else adv


def _cw_type(distance: str) -> AttackFn:
    def run(model: nn.Module, inputs: Tensor, labels: Tensor, budget: int) -> Tensor:
        return cw_type(model, inputs, labels, distance, budget)
    return run


ATTACKS: dict[str, AttackSpec] = {spec.name: spec for spec in (
    AttackSpec("alma-l1", "ALMA ℓ1 (ours)", "l1", _ours("l1"), "N steps", "alma"),
    AttackSpec("alma-l2", "ALMA ℓ2 (ours)", "l2", _ours("l2"), "N steps", "alma"),
    AttackSpec("alma-ciede2000", "ALMA CIEDE2000 (ours)", "ciede2000", _ours("ciede2000"), "N steps", "alma"),
    AttackSpec("alma-lpips", "ALMA LPIPS (ours)", "lpips", _ours("lpips"), "N steps", "alma"),
    AttackSpec("adv_lib-alma-l1", "ALMA ℓ1 (adv_lib)", "l1", _adv_lib_alma("l1"), "N steps"),
    AttackSpec("adv_lib-alma-l2", "ALMA ℓ2 (adv_lib)", "l2", _adv_lib_alma("l2"), "N steps"),
    AttackSpec("ddn", "DDN", "l2", _ddn, "N steps"),
    AttackSpec("fmn-l1", "FMN ℓ1", "l1", _fmn(1), "N steps"),
    AttackSpec("fmn-l2", "FMN ℓ2", "l2", _fmn(2), "N steps"),
    AttackSpec("fab-l1", "FAB ℓ1", "l1", _fab(1), "N iterations (2 forwards, K − 1 backwards each)"),
    AttackSpec("fab-l2", "FAB ℓ2", "l2", _fab(2), "N iterations (2 forwards, K − 1 backwards each)"),
    AttackSpec("cw-l2", "C&W ℓ2", "l2", _carlini_wagner, "9 binary-search steps × 10N iterations, early abort"),
    AttackSpec("apgd-t-l2", "APGD-T ℓ2 + binary search", "l2", _apgd_targeted,
               "N iterations per APGD run, all targets, binary search to 0.01"),
    AttackSpec("perc-al", "PerC-AL", "ciede2000", _perc_al, "N iterations"),
    AttackSpec("cw-ciede2000", "C&W-type CIEDE2000", "ciede2000", _cw_type("ciede2000"),
               "5 searches × N / 5 Adam iterations", "alma"),
    AttackSpec("cw-lpips", "C&W-type LPIPS", "lpips", _cw_type("lpips"), "5 searches × N / 5 Adam iterations", "alma"),
)}


def get_attack(attack: str | AttackSpec) -> AttackSpec:
    """The registered attack of that name (an `AttackSpec` is returned as is)."""
    if isinstance(attack, AttackSpec):
        return attack
    try:
        return ATTACKS[attack]
    except KeyError:
        raise ValueError(f"unknown attack {attack!r}; available: {', '.join(ATTACKS)}") from None
