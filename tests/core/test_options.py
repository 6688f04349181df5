"""Every design choice of the paper can be switched off or swapped, and bad settings get a clear message."""
from __future__ import annotations

import pytest
import torch

import alma
from alma.penalties import PENALTIES


@pytest.fixture(scope="module")
def batch(mnist_batch):
    return mnist_batch[0][:8], mnist_batch[1][:8]


def test_alpha_default_follows_the_paper(smallcnn, batch) -> None:
    x, y = batch
    assert alma.attack(smallcnn, x[:1], y[:1], num_steps=5).config["alpha"] == 0.5
    assert alma.attack(smallcnn, x[:1], y[:1], num_steps=101).config["alpha"] == 0.9


@pytest.mark.parametrize("alpha", [0.0, 0.9])
def test_mu_is_the_ema_of_the_penalty_derivative(smallcnn, batch, alpha: float) -> None:
    """μ⁽ⁱ⁺¹⁾ = clamp(α μ⁽ⁱ⁾ + (1 − α) ∂P/∂c); the derivative here comes from autograd of P itself."""
    x, y = batch
    t = alma.attack(smallcnn, x, y, num_steps=30, alpha=alpha).trace
    c = t.constraint[1:].double().requires_grad_(True)
    value = PENALTIES["P2"].value(c, t.rho[1:].double(), t.mu[:-1].double())
    (prime,) = torch.autograd.grad(value.sum(), c)
    expected = (alpha * t.mu[:-1].double() + (1 - alpha) * prime).clamp(1e-6, 1e12)
    torch.testing.assert_close(t.mu[1:].double(), expected, rtol=1e-5, atol=1e-6)


def test_ema_can_change_without_changing_the_optimizer(smallcnn, batch) -> None:
    """The reference ties RMSProp's smoothing and momentum to α; here they can be held fixed."""
    x, y = batch
    paper = alma.attack(smallcnn, x, y, num_steps=3, alpha=0.9).trace
    no_ema_same_optim = alma.attack(smallcnn, x, y, num_steps=3, alpha=0.0, alpha_rms=0.9, momentum=0.9).trace
    no_ema_reference = alma.attack(smallcnn, x, y, num_steps=3, alpha=0.0).trace
    # step 0 ignores μ: the first update depends only on the optimizer
    assert torch.equal(paper.distance[1], no_ema_same_optim.distance[1])
    assert not torch.allclose(paper.distance[1], no_ema_reference.distance[1])


def test_sgd_first_step_increases_the_distance_by_eps(smallcnn, batch) -> None:
    x, y = batch
    t = alma.attack(smallcnn, x, y, num_steps=2, optimizer="sgd", init_lr_distance=0.3).trace
    torch.testing.assert_close(t.distance[1], torch.full_like(t.distance[1], 0.3), rtol=1e-4, atol=0)


def test_switching_off_the_learning_rate_search_and_decay(smallcnn, batch) -> None:
    x, y = batch
    t = alma.attack(smallcnn, x, y, num_steps=40, lr_search=False, lr_decay=False, lr_init=0.05).trace
    assert torch.all(t.lr == 0.05) and t.is_adv.any()


@pytest.mark.parametrize("penalty", sorted(PENALTIES))
def test_every_penalty_attacks(smallcnn, batch, penalty: str) -> None:
    x, y = batch
    result = alma.attack(smallcnn, x, y, num_steps=100, penalty=penalty)
    with torch.no_grad():
        fooled = smallcnn(result.adv_inputs).argmax(1) != y
    assert fooled.float().mean() >= 0.75 and torch.equal(fooled, result.success)


def test_logit_difference_constraint(smallcnn, batch) -> None:
    """The unnormalised constraint: recorded values are the logit margins, and success matches the argmax."""
    x, y = batch
    result = alma.attack(smallcnn, x, y, num_steps=60, constraint="logit_diff")
    with torch.no_grad():
        logits = smallcnn(x)
    margin = logits.gather(1, y[:, None]).squeeze(1) - logits.scatter(1, y[:, None], -1e9).amax(1)
    torch.testing.assert_close(result.trace.constraint[0], margin + 1e-4)
    assert all(torch.isfinite(getattr(result.trace, f)).all() for f in ("constraint", "mu", "lr", "grad_norm"))
    with torch.no_grad():
        assert torch.equal(smallcnn(result.adv_inputs).argmax(1) != y, result.success)


def test_quantised_outputs(smallcnn, batch) -> None:
    x, y = batch
    x = (x * 255).round() / 255
    result = alma.attack(smallcnn, x, y, num_steps=60, levels=256)
    levels = result.adv_inputs * 255
    torch.testing.assert_close(levels, levels.round(), rtol=0, atol=1e-4)
    assert result.success.any()


@pytest.mark.parametrize("kwargs, message", [
    ({"distance": "l7"}, "unknown distance 'l7'"),
    ({"penalty": "P42"}, "unknown penalty 'P42'"),
    ({"optimizer": "adam"}, "unknown optimizer 'adam'"),
    ({"constraint": "hinge"}, "unknown constraint 'hinge'"),
    ({"alpha": 1.5}, "alpha, alpha_rms, momentum and tau in"),
    ({"num_steps": 0}, "num_steps, check_steps and every"),
    ({"mu_init": 1e13}, "mu_min ≤ mu_init ≤ mu_max"),
    ({"gamma": 0.5}, "gamma ≥ 1"),
    ({"levels": 1}, "levels ≥ 2"),
])
def test_bad_settings_get_a_clear_message(smallcnn, batch, kwargs: dict, message: str) -> None:
    x, y = batch
    with pytest.raises(ValueError, match=message):
        alma.attack(smallcnn, x, y, num_steps=kwargs.pop("num_steps", 2), **kwargs)


def test_bad_inputs_get_a_clear_message(smallcnn, batch) -> None:
    x, y = batch
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        alma.attack(smallcnn, x * 255, y, num_steps=2)
    with pytest.raises(ValueError, match="labels must be a long tensor"):
        alma.attack(smallcnn, x, y.float(), num_steps=2)
    with pytest.raises(ValueError, match="class indices"):
        alma.attack(smallcnn, x, y + 10, num_steps=2)


def test_squared_gradient_average_starting_at_one_tames_the_first_step(smallcnn, batch) -> None:
    """The paper's v₀ = 1: the first step moves D by about ε (≈1.05ε with α = 0.9); the usual v₀ = 0 overshoots."""
    x, y = batch
    paper = alma.attack(smallcnn, x, y, num_steps=2, alpha=0.9, init_lr_distance=0.1).trace
    usual = alma.attack(smallcnn, x, y, num_steps=2, alpha=0.9, init_lr_distance=0.1, rms_init=0.0).trace
    assert ((paper.distance[1] > 0.09) & (paper.distance[1] < 0.12)).all()
    assert (usual.distance[1] > 2 * paper.distance[1]).all()
