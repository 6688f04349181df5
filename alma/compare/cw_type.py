"""A C&W-type attack for any differentiable distance (the baseline of the paper's Table 2 for CIEDE2000 and LPIPS):
minimise D(x̃, x) + c · max(z_y − max_{j≠y} z_j, 0) over x̃ = (tanh(w) + 1) / 2 with Adam, and search c per sample
(×10 until adversarial, then bisection), keeping the closest adversarial found. The budget N is split into
`SEARCH_STEPS` searches of N / `SEARCH_STEPS` iterations: N forwards and N backwards in all."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .. import distances

SEARCH_STEPS = 5
LEARNING_RATE = 0.01
INITIAL_CONSTANT = 1.0


def cw_type(model: nn.Module, inputs: Tensor, labels: Tensor, distance: str, budget: int) -> Tensor:
    """The closest adversarial found for each input (the input itself where none was found)."""
    dist = distances.get(distance).build(inputs)
    n = len(inputs)
    iterations = max(1, budget // SEARCH_STEPS)
    low, high = torch.zeros(n, device=inputs.device), torch.full((n,), float("inf"), device=inputs.device)
    constant = torch.full((n,), INITIAL_CONSTANT, device=inputs.device)
    best, best_adv = torch.full((n,), float("inf"), device=inputs.device), inputs.clone()
    start = torch.atanh((inputs * 2 - 1).clamp(-1 + 1e-6, 1 - 1e-6))
    for _ in range(SEARCH_STEPS):
        w = start.clone().requires_grad_()
        optimizer = torch.optim.Adam([w], lr=LEARNING_RATE)
        found = torch.zeros(n, dtype=torch.bool, device=inputs.device)
        for _ in range(iterations):
            adv = (torch.tanh(w) + 1) / 2
            logits = model(adv)
            true = logits.gather(1, labels[:, None]).squeeze(1)
            other = logits.scatter(1, labels[:, None], float("-inf")).amax(1)
            d = dist(adv)
            with torch.no_grad():
                wins = (other > true) & (d < best)
                best = torch.where(wins, d.detach(), best)
                best_adv[wins] = adv.detach()[wins]
                found |= other > true
            loss = d + constant * (true - other).clamp_min(0)
            optimizer.zero_grad()
            loss.sum().backward()
            optimizer.step()
        high = torch.where(found, torch.minimum(high, constant), high)
        low = torch.where(found, low, torch.maximum(low, constant))
        constant = torch.where(torch.isinf(high), constant * 10, (low + high) / 2)
    return best_adv
