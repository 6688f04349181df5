"""CIEDE2000 against Sharma et al.'s 34 pairs, scikit-image and colour-science; gradients; batching."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab

from alma.distances import get
from alma.distances.ciede2000 import ciede2000_distance, ciede2000_map, delta_e00
from alma.distances.colorspace import srgb_to_lab

with warnings.catch_warnings():  # colour-science warns that matplotlib is absent
    warnings.simplefilter("ignore")
    import colour

DTYPES = [torch.float32, torch.float64]


def sharma_pairs(shared_data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Lab1 [34, 3], Lab2 [34, 3], ΔE00 [34]) from the whitespace-split columns described in MANIFEST 6."""
    rows = [line.split() for line in (shared_data / "ciede2000" / "ciede2000_test_data.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    table = np.array([[float(r[i]) for i in (2, 3, 4, 15, 17, 18, 19)] for r in rows])
    return table[:, 0:3], table[:, 4:7], table[:, 3]


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-4), (torch.float32, 1e-3)])
def test_sharma_pairs(shared_data: Path, dtype: torch.dtype, tol: float) -> None:
    lab1, lab2, expected = sharma_pairs(shared_data)
    assert len(expected) == 34
    lab1, lab2 = torch.tensor(lab1, dtype=dtype), torch.tensor(lab2, dtype=dtype)
    expected = torch.tensor(expected, dtype=dtype)
    torch.testing.assert_close(delta_e00(lab1, lab2), expected, atol=tol, rtol=0)
    torch.testing.assert_close(delta_e00(lab2, lab1), expected, atol=tol, rtol=0)  # symmetric


def random_lab_pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lab1 = np.stack([rng.uniform(0, 100, n), rng.uniform(-110, 110, n), rng.uniform(-110, 110, n)], axis=1)
    lab2 = lab1 + rng.normal(0, rng.choice([0.1, 2, 20], size=(n, 1)), size=(n, 3))
    k = n // 10  # hue differences within 0.01 rad of π (but not at π, where the formula jumps)
    turn = np.pi + rng.choice([-1, 1], k) * rng.uniform(1e-5, 1e-2, k)
    chroma, hue = np.hypot(lab1[:k, 1], lab1[:k, 2]) * rng.uniform(0.5, 2, k), np.arctan2(lab1[:k, 2], lab1[:k, 1])
    lab2[:k, 1:] = np.stack([chroma * np.cos(hue + turn), chroma * np.sin(hue + turn)], axis=1)
    lab1[-k:, 1:] = 0  # neutral colours
    return lab1, lab2


def test_random_colours_match_skimage_and_colour() -> None:
    lab1, lab2 = random_lab_pairs(20000, seed=0)
    ours = delta_e00(torch.tensor(lab1), torch.tensor(lab2)).numpy()
    for reference in (deltaE_ciede2000(lab1, lab2), colour.delta_E(lab1, lab2, method="CIE 2000")):
        assert np.max(np.abs(ours - reference) / np.maximum(reference, 1e-12)) <= 1e-4


def test_srgb_to_lab_matches_skimage_and_colour() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0, 1, (500, 3))
    rgb[:3] = [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5]]
    ours = srgb_to_lab(torch.tensor(rgb).view(500, 3, 1, 1)).view(500, 3).numpy()
    np.testing.assert_allclose(ours, rgb2lab(rgb), atol=3e-4)
    # colour-science derives its matrix and white from the D65 chromaticity (0.3127, 0.3290): a* differs by ≤ 0.03
    d65 = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
    np.testing.assert_allclose(ours, colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb), d65), atol=0.05)
    assert ours[1, 0] == pytest.approx(100, abs=1e-4)  # white: L* = 100, not the reference library's ≈ 9
    assert np.abs(ours[1, 1:]).max() < 0.005


def random_images(shape: tuple[int, ...], seed: int, noise: float = 0.03) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=torch.float64)
    y = (x + noise * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return x, y


def test_random_images_match_skimage() -> None:
    x, y = random_images((4, 3, 24, 20), seed=2)
    x[0] = x[0, :1]  # a grey image
    x[1] *= 0.05  # a dark one
    reference = deltaE_ciede2000(rgb2lab(x.permute(0, 2, 3, 1).numpy()), rgb2lab(y.permute(0, 2, 3, 1).numpy()))
    image_reference = np.sqrt((reference ** 2).reshape(4, -1).sum(1))
    np.testing.assert_allclose(ciede2000_map(x, y).numpy(), reference, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ciede2000_distance(x, y).numpy(), image_reference, rtol=1e-4)


def test_grayscale_is_replicated() -> None:
    x, y = random_images((3, 1, 10, 10), seed=3)
    rgb = lambda t: t.repeat(1, 3, 1, 1).permute(0, 2, 3, 1).numpy()  # noqa: E731
    reference = np.sqrt((deltaE_ciede2000(rgb2lab(rgb(x)), rgb2lab(rgb(y))) ** 2).reshape(3, -1).sum(1))
    np.testing.assert_allclose(get("ciede2000").build(x)(y).numpy(), reference, rtol=1e-4)


def test_batched_equals_per_image() -> None:
    x, y = random_images((5, 3, 12, 12), seed=4)
    distance = get("ciede2000").build(x)
    per_image = torch.cat([get("ciede2000").build(x[i:i + 1])(y[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(distance(y), per_image, rtol=1e-12, atol=0)


def special_pairs(dtype: torch.dtype) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    x, y = random_images((2, 3, 6, 6), seed=5)
    grey = torch.linspace(0, 1, 36, dtype=torch.float64).view(1, 1, 6, 6).expand(2, 3, 6, 6)
    zeros, ones = torch.zeros(2, 3, 6, 6, dtype=torch.float64), torch.ones(2, 3, 6, 6, dtype=torch.float64)
    # sRGB colours whose b* is close to 0 with a* > 0: hues on both sides of the 0/2π wrap-around
    pink = torch.tensor([0.8, 0.5, 0.59], dtype=torch.float64).view(1, 3, 1, 1).expand(2, 3, 6, 6)
    wrap = pink + torch.linspace(-0.02, 0.02, 36, dtype=torch.float64).view(1, 1, 6, 6) * torch.tensor(
        [0, 0, 1.0], dtype=torch.float64).view(1, 3, 1, 1)
    pairs = [("identical", x, x), ("identical grey", grey, grey), ("grey vs grey", grey, grey.flip(-1)),
             ("black", zeros, zeros), ("near black", zeros, zeros + 1e-4), ("white", ones, ones),
             ("near white", ones, ones - 1e-4), ("hue wrap-around", wrap, wrap.flip(-1)), ("random", x, y),
             ("one pixel changed", x, torch.where(torch.arange(36).view(1, 1, 6, 6) == 7, y, x))]
    return [(name, a.to(dtype), b.to(dtype)) for name, a, b in pairs]


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_are_finite(dtype: torch.dtype) -> None:
    wrap_hues = srgb_to_lab(special_pairs(torch.float64)[7][1])[:, 2]
    assert wrap_hues.min() < 0 < wrap_hues.max()  # the "hue wrap-around" case does cross b* = 0
    for name, x, y in special_pairs(dtype):
        for fn in (ciede2000_distance, ciede2000_map):
            y_ = y.clone().requires_grad_(True)
            grad, = torch.autograd.grad(fn(x, y_).sum(), y_)
            assert torch.isfinite(grad).all(), (name, fn.__name__)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lab_gradients_are_finite_at_neutral_and_opposite_colours(dtype: torch.dtype) -> None:
    lab1 = torch.tensor([[50, 0, 0], [50, 0, 0], [50, 20, 1e-3], [50, -0.001, 2.49], [0, 0, 0], [100, 0, 0]],
                        dtype=dtype, requires_grad=True)
    lab2 = torch.tensor([[50, 0, 0], [60, 3, -4], [50, 20, -1e-3], [50, 0.001, -2.49], [0, 0, 0], [100, 0, 0]],
                        dtype=dtype, requires_grad=True)
    for fn in (delta_e00, lambda a, b: delta_e00(a, b).square()):
        grads = torch.autograd.grad(fn(lab1, lab2).sum(), (lab1, lab2))
        assert all(torch.isfinite(g).all() for g in grads)


def test_gradcheck_at_smooth_points() -> None:
    x, y = random_images((2, 3, 4, 4), seed=6, noise=0.05)
    x = x * 0.8 + 0.1
    y = y.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: ciede2000_distance(x, t), (y,))
    lab1, lab2 = (torch.tensor(a, requires_grad=True) for a in random_lab_pairs(40, seed=7))
    assert torch.autograd.gradcheck(lambda a, b: delta_e00(a[:-4], b[:-4]), (lab1, lab2))
