"""GPU checks (skipped without CUDA): same results as on the CPU, no host synchronisation per step, and the CUDA graph
(`cuda_graph=True`) replaying exactly what the eager step does."""
from __future__ import annotations

import warnings

import pytest
import torch

import alma
from alma.models.smallcnn import SmallCNN

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

FIELDS = ("distance", "constraint", "mu", "rho", "lr", "grad_norm", "best_distance")


def model_and_batch(device: str, batch: int = 16) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = SmallCNN().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.rand(batch, 1, 28, 28)
    with torch.no_grad():
        y = model(x).argmax(1)
    return model.to(device), x.to(device), y.to(device)


def syncs_during(num_steps: int, **settings) -> int:
    model, x, y = model_and_batch("cuda")
    alma.attack(model, x, y, num_steps=num_steps, **settings)  # warm-up (cuDNN, allocator)
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            alma.attack(model, x, y, num_steps=num_steps, record=True, **settings)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


@pytest.mark.parametrize("settings", [{}, {"cuda_graph": True}, {"snapshot_every": 1}])
def test_no_host_synchronisation_in_the_loop(settings: dict) -> None:
    """Synchronisations happen at the start (validation, the step-0 learning-rate search, the graphs' capture) and
    at the end (the trace's host copy), never per step: their count does not depend on the number of steps."""
    assert syncs_during(40, **settings) == syncs_during(80, **settings)


def test_same_first_steps_as_on_the_cpu() -> None:
    results = {}
    for device in ("cpu", "cuda"):
        model, x, y = model_and_batch(device)
        results[device] = alma.attack(model, x, y, num_steps=10).trace
    for field in ("distance", "constraint", "mu", "rho", "lr"):
        torch.testing.assert_close(getattr(results["cuda"], field), getattr(results["cpu"], field),
                                   rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("settings", [{}, {"penalty": "PHRQuad", "targeted": True, "levels": 256},
                                      {"distance": "l1", "optimizer": "sgd", "momentum": 0.5, "lr_decay": False}])
def test_graph_replays_the_eager_step(batch: int, settings: dict) -> None:
    """Graph on and off: the same trace within float tolerance (the same kernels, replayed), with the ρ check and
    without, over steps long past the capture."""
    model, x, y = model_and_batch("cuda", batch)
    if settings.get("targeted"):
        y = (y + 1) % 10
    runs = [alma.attack(model, x, y, num_steps=40, snapshot_every=1, cuda_graph=graph, **settings)
            for graph in (False, True)]
    for field in FIELDS:
        torch.testing.assert_close(getattr(runs[1].trace, field), getattr(runs[0].trace, field), rtol=1e-4,
                                   atol=1e-5, msg=lambda m: f"{field}: {m}")
    torch.testing.assert_close(runs[1].snapshots.images, runs[0].snapshots.images, rtol=0, atol=1e-3)
    torch.testing.assert_close(runs[1].adv_inputs, runs[0].adv_inputs, rtol=0, atol=1e-4)
    assert torch.equal(runs[1].success, runs[0].success) and runs[0].success.any()


def test_graph_on_the_cpu_is_ignored() -> None:
    model, x, y = model_and_batch("cpu", 2)
    runs = [alma.attack(model, x, y, num_steps=15, cuda_graph=graph).trace for graph in (False, True)]
    for field in FIELDS:
        assert torch.equal(getattr(runs[0], field), getattr(runs[1], field))


def test_graph_gives_the_cpu_results() -> None:
    model, x, y = model_and_batch("cpu")
    cpu = alma.attack(model, x, y, num_steps=10).trace
    model, x, y = model_and_batch("cuda")
    cuda = alma.attack(model, x, y, num_steps=10, cuda_graph=True).trace
    for field in ("distance", "constraint", "mu", "rho", "lr"):
        torch.testing.assert_close(getattr(cuda, field), getattr(cpu, field), rtol=1e-3, atol=1e-4)


def test_graph_follows_on_step_and_stops() -> None:
    """The explorer's use: one image, on_step every step, stopped part-way; the graph's replays stream like eager
    steps."""
    model, x, y = model_and_batch("cuda", 1)
    parts = {}
    for graph in (False, True):
        seen = []
        result = alma.attack(model, x, y, num_steps=60, every=1, cuda_graph=graph, snapshot_every=1,
                             on_step=lambda step, rows: seen.append(rows) or step < 30)
        assert result.stopped and result.steps == 30 and len(seen) == 30
        parts[graph] = seen
    for eager, replayed in zip(parts[False], parts[True]):
        torch.testing.assert_close(replayed.distance, eager.distance, rtol=1e-4, atol=1e-5)
        assert torch.equal(replayed.snapshots.steps, eager.snapshots.steps)
