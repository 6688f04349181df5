"""GPU checks (skipped without CUDA): same results as on the CPU, and no host synchronisation per step."""
from __future__ import annotations

import warnings

import pytest
import torch

import alma
from alma.models.smallcnn import SmallCNN

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def model_and_batch(device: str) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = SmallCNN().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        y = model(x).argmax(1)
    return model.to(device), x.to(device), y.to(device)


def syncs_during(num_steps: int) -> int:
    model, x, y = model_and_batch("cuda")
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            alma.attack(model, x, y, num_steps=num_steps, record=True)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def test_no_host_synchronisation_in_the_loop() -> None:
    """Synchronisations happen at the start (validation, the step-0 learning-rate search) and at the end (the
    trace's host copy), never per step: their count does not depend on the number of steps."""
    assert syncs_during(20) == syncs_during(80)


def test_same_first_steps_as_on_the_cpu() -> None:
    results = {}
    for device in ("cpu", "cuda"):
        model, x, y = model_and_batch(device)
        results[device] = alma.attack(model, x, y, num_steps=10).trace
    for field in ("distance", "constraint", "mu", "rho", "lr"):
        torch.testing.assert_close(getattr(results["cuda"], field), getattr(results["cpu"], field),
                                   rtol=1e-3, atol=1e-4)
