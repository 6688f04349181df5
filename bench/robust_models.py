"""Regular vs robust MNIST models: clean accuracy, and ALMA ℓ2 (1000 steps) on the first N MNIST test images.

    ALMA_WEIGHTS_DIR=../shared/data python bench/robust_models.py --n 1000

ASR counts the inputs whose final prediction is wrong (inputs that are misclassified from the start count as
successes at distance 0, as in the paper); the median ℓ2 is taken over all N inputs, a failure counting as
infinite. Models whose weights are missing are reported and skipped.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from alma import attack
from alma.models import WeightsError, get_info, load_model
from alma.models.mnist import load_mnist

MODELS = ("mnist-smallcnn", "mnist-smallcnn-pgd-l2", "mnist-smallcnn-paper", "mnist-smallcnn-ddn",
          "mnist-smallcnn-trades")


def evaluate(name: str, x: torch.Tensor, y: torch.Tensor, steps: int, batch_size: int) -> dict[str, float]:
    model = load_model(name)
    with torch.no_grad():
        clean = torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]) == y
    distances, fooled = [], []
    for i in range(0, len(x), batch_size):
        result = attack(model, x[i:i + batch_size], y[i:i + batch_size], distance="l2", num_steps=steps,
                        record=False)
        with torch.no_grad():
            fooled.append(model(result.adv_inputs).argmax(1) != y[i:i + batch_size])
        distances.append(torch.where(fooled[-1], result.distances, torch.full_like(result.distances, float("inf"))))
    d, success = torch.cat(distances), torch.cat(fooled)
    return {"clean": clean.float().mean().item(), "asr": success.float().mean().item(),
            "median": d.median().item(), "robust_at_2": (d > 2.0).float().mean().item()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="first N MNIST test images")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--data", default=os.environ.get("ALMA_WEIGHTS_DIR", "../shared/data") + "/mnist",
                   help="torchvision MNIST root")
    args = p.parse_args()
    torch.manual_seed(0)
    x, y = load_mnist(Path(args.data), train=False)
    x, y = x[:args.n], y[:args.n]
    print(f"ALMA ℓ2, {args.steps} steps, first {args.n} MNIST test images, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads\n")
    print("| model | training | clean acc | ASR | median ℓ2 | ℓ2 > 2 | time |\n|---|---|---:|---:|---:|---:|---:|")
    for name in args.models:
        start = time.time()
        try:
            r = evaluate(name, x, y, args.steps, args.batch_size)
        except WeightsError as err:
            print(f"| {name} | weights missing: {err} |")
            continue
        print(f"| {name} | {get_info(name).training} | {r['clean']:.2%} | {r['asr']:.2%} | {r['median']:.3f} | "
              f"{r['robust_at_2']:.1%} | {time.time() - start:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
