"""1000 random inputs × random valid settings (distances, penalties, optimizers, targeted, constraint, levels, the
other switches) on small models: no NaN in any trace, result or metric, and inf only where it means "no adversarial
(yet)" (the best distance before the first adversarial, the distance of a failed sample). Batched: 20 attacks of 50
inputs, a few steps each. Seeded: a failure names the attack's settings, which reproduce it.

The multipliers range over the paper's scale (ρ⁽⁰⁾ up to 10, μ_max up to 10⁶): with the exponential penalty and
ρ⁽⁰⁾ in the hundreds, the gradient itself overflows float32 (inf in the recorded gradient norm)."""
from __future__ import annotations

import math
import random

import pytest
import torch

from alma import attack, distances
from alma.constraints import CONSTRAINTS
from alma.images import to_model_input
from alma.models import get_info, load_model
from alma.optim import OPTIMIZERS
from alma.penalties import PENALTIES
from alma.samples import list_samples, load_sample

SEED = 16
ATTACKS, BATCH = 20, 50
MODELS = ("mnist-smallcnn", "mnist-lenet5", "cifar10-resnet20")
"""Drawn from at random; ResNet-20 (CIFAR-10, RGB: the colour distances) only for every fourth attack (it is the
slowest)."""
DISTANCES = ("l1", "l2", "l1", "l2", "ssim", "ciede2000")
"""LPIPS is left to the metrics (every result is measured with it): as the attacked distance it costs seconds."""
TRACE_FIELDS = ("distance", "constraint", "mu", "rho", "lr", "grad_norm")
"""Trace fields that are finite at every step (best_distance is inf until the first adversarial)."""


def _models() -> dict:
    models = {}
    for name in dict.fromkeys(MODELS):
        try:
            models[name] = load_model(name).eval()
        except Exception:  # noqa: BLE001 — a model without offline weights is left out
            continue
    if "mnist-smallcnn" not in models:
        pytest.skip("the bundled model cannot be loaded")
    return models


def _inputs(rng: random.Random, generator: torch.Generator, shape: tuple[int, ...], samples: list) -> torch.Tensor:
    """Random inputs of every kind a user can give: noise, flat images, the extremes 0 and 1, real samples."""
    kinds = []
    for _ in range(BATCH):
        kind = rng.choice(("uniform", "binary", "flat", "zeros", "ones", "sample", "sample+noise", "tiny"))
        if kind == "uniform":
            x = torch.rand(shape, generator=generator)
        elif kind == "binary":
            x = (torch.rand(shape, generator=generator) > 0.5).float()
        elif kind == "flat":
            x = torch.full(shape, rng.random())
        elif kind == "zeros":
            x = torch.zeros(shape)
        elif kind == "ones":
            x = torch.ones(shape)
        elif kind == "tiny":
            x = torch.rand(shape, generator=generator) * 1e-6
        else:
            x = rng.choice(samples)
            if kind == "sample+noise":
                x = (x + 0.1 * torch.randn(shape, generator=generator)).clamp(0, 1)
        kinds.append(x)
    return torch.stack(kinds)


def _settings(rng: random.Random, num_classes: int, labels: torch.Tensor) -> tuple[dict, torch.Tensor]:
    targeted = rng.random() < 0.4
    if targeted:  # a random target, never the clean prediction
        labels = (labels + torch.randint(1, num_classes, labels.shape, generator=torch.Generator().manual_seed(
            rng.randrange(2**31)))) % num_classes
    maybe = lambda value: None if rng.random() < 0.5 else value
    mu_min = 10 ** rng.uniform(-12, -4)
    mu_max = 10 ** rng.uniform(2, 6)
    settings = dict(
        distance=rng.choice(DISTANCES), targeted=targeted, num_steps=rng.randint(2, 5),
        alpha=maybe(rng.choice((0.0, 0.5, 0.9, 1.0, rng.random()))), init_lr_distance=maybe(10 ** rng.uniform(-3, 1)),
        penalty=rng.choice(list(PENALTIES)), mu_init=10 ** rng.uniform(math.log10(mu_min), math.log10(mu_max)),
        rho_init=10 ** rng.uniform(-2, 1), mu_min=mu_min, mu_max=mu_max, gamma=rng.uniform(1, 3),
        tau=rng.random(), check_steps=rng.randint(1, 5), lr_reduction=rng.uniform(1e-4, 1),
        optimizer=rng.choice(OPTIMIZERS), alpha_rms=maybe(rng.random()), momentum=maybe(rng.random()),
        rms_init=rng.choice((0.0, 1.0, rng.uniform(0, 3))), lr_decay=rng.random() < 0.7,
        lr_search=rng.random() < 0.7, lr_init=10 ** rng.uniform(-4, 0), constraint=rng.choice(CONSTRAINTS),
        logit_tolerance=rng.choice((0.0, 1e-4, rng.uniform(0, 1))),
        levels=rng.choice((None, None, 256, 2, rng.randint(3, 64))), seed=rng.randrange(2**31))
    return settings, labels


def _problems(result, metrics: dict[str, torch.Tensor]) -> list[str]:
    trace = result.trace
    problems = [f"trace {name}" for name in TRACE_FIELDS if not bool(getattr(trace, name).isfinite().all())]
    if bool(trace.best_distance.isnan().any()) or bool((trace.best_distance == -math.inf).any()):
        problems.append("trace best_distance")
    adv = result.adv_inputs
    if not bool(adv.isfinite().all()) or float(adv.min()) < 0 or float(adv.max()) > 1:
        problems.append("adversarial images")
    found = result.success
    if not bool(result.distances[found].isfinite().all()) or not bool((result.distances[~found] == math.inf).all()):
        problems.append("result distances")
    problems += [f"metric {name}" for name, value in metrics.items() if not bool(value.isfinite().all())]
    return problems


@pytest.mark.slow
def test_random_inputs_and_settings_give_no_nan_or_inf() -> None:
    rng, generator = random.Random(SEED), torch.Generator().manual_seed(SEED)
    models = _models()
    torch.set_num_threads(1)
    failures = []
    for index in range(ATTACKS):
        choices = [m for m in MODELS if m in models and (index % 4 == 3 or not m.startswith("cifar10"))]
        name = rng.choice(choices)
        model, info = models[name], get_info(name)
        samples = [to_model_input(load_sample(s), info)[0] for s in list_samples(info.dataset)[:5]]
        x = _inputs(rng, generator, tuple(samples[0].shape), samples)
        with torch.no_grad():
            labels = model(x).argmax(1)
        settings, labels = _settings(rng, len(info.class_names), labels)
        result = attack(model, x, labels, **settings)
        metrics = distances.measure(x, result.adv_inputs)
        if problems := _problems(result, metrics):
            failures.append(f"attack {index} on {name} with {settings}: {', '.join(problems)}")
    assert failures == [], failures[:5]
