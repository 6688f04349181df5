"""`measure`: every per-sample distance, against independent computations; LPIPS left out without weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from alma.distances import available, get, measure
from alma.distances import lpips as lpips_module

KEYS = ["l0", "l1", "l2", "linf", "ciede2000", "lpips", "ssim"]


def pair(shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=g, dtype=torch.float64)
    y = x.clone()
    y[:, :, 3:9, 5:7] += 0.1 * torch.randn(y[:, :, 3:9, 5:7].shape, generator=g, dtype=torch.float64)
    y[:, 0, 0, 0] += 1 / 1000  # below the ℓ0 threshold of half an 8-bit level
    return x, y.clamp(0, 1)


def test_measure_matches_independent_computations() -> None:
    x, y = pair((3, 3, 32, 32))
    out = measure(x, y)
    assert list(out) == KEYS and all(v.shape == (3,) and not v.requires_grad for v in out.values())
    xs, ys = x.permute(0, 2, 3, 1).numpy(), y.permute(0, 2, 3, 1).numpy()
    delta = (ys - xs).reshape(3, -1)
    np.testing.assert_array_equal(out["l0"].numpy(), (np.abs(ys - xs) > 0.5 / 255).any(-1).reshape(3, -1).sum(1))
    assert (out["l0"] <= 12).all() and (out["l0"] > 0).all()
    np.testing.assert_allclose(out["l1"].numpy(), np.abs(delta).sum(1))
    np.testing.assert_allclose(out["l2"].numpy(), np.sqrt((delta ** 2).sum(1)))
    np.testing.assert_allclose(out["linf"].numpy(), np.abs(delta).max(1))
    de = deltaE_ciede2000(rgb2lab(xs), rgb2lab(ys)).reshape(3, -1)
    np.testing.assert_allclose(out["ciede2000"].numpy(), np.sqrt((de ** 2).sum(1)), rtol=1e-4)
    ssim = [structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, use_sample_covariance=False,
                                  data_range=1) for a, b in zip(xs, ys)]
    np.testing.assert_allclose(out["ssim"].numpy(), 1 - np.array(ssim), atol=1e-10)
    assert (out["lpips"] > 0).all()
    zero = measure(x, x)
    assert all((v.abs() < 1e-12).all() for v in zero.values())


def test_measure_grayscale() -> None:
    x, y = pair((2, 1, 28, 28))
    out = measure(x, y)
    assert list(out) == KEYS
    torch.testing.assert_close(out["ciede2000"], measure(x.repeat(1, 3, 1, 1), y.repeat(1, 3, 1, 1))["ciede2000"])


def test_measure_without_lpips_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(lpips_module, "_NETWORKS", {})
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    out = measure(*pair((2, 3, 16, 16)))
    assert "lpips" not in out and list(out) == [k for k in KEYS if k != "lpips"]


def test_every_distance_has_a_pixel_map_and_an_eps() -> None:
    x, y = pair((2, 3, 32, 32))
    x, y = x.float(), y.float()
    for name in available():
        distance = get(name)
        pixel_map = distance.pixel_map(x, y)
        assert pixel_map.shape == (2, 32, 32) and torch.isfinite(pixel_map).all(), name
        assert 0 < distance.eps_for(x) < distance.build(x)(torch.rand_like(x)).min(), name
