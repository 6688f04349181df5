"""Forward + backward time of every registered distance next to a ResNet-50 forward + backward.

    python bench/distances.py                          # the issue's setting: batch 64 of 224×224, GPU when present
    python bench/distances.py --device cpu --batch 8   # a CPU-sized run

Each distance is built once for the batch (as an attack does) and then timed on D(x̃).sum().backward() w.r.t. x̃;
ResNet-50 (torchvision, random weights, eval mode, frozen) is timed on the gradient of its logits' sum w.r.t. its
input, as in an attack step. Times are the best of --repeats runs after a warm-up. The issue's GPU target is that
CIEDE2000 and SSIM cost at most 1/3 of the ResNet-50 pass.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torchvision
from torch import Tensor

from alma.distances import available, get
from alma.weights import WeightsError

from timing import best_times, machine

TARGETS = {"ciede2000": 1 / 3, "ssim": 1 / 3}


def gradient_pass(fn: Callable[[Tensor], Tensor], x_adv: Tensor) -> Callable[[], Tensor]:
    return lambda: torch.autograd.grad(fn(x_adv).sum(), x_adv)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--distances", nargs="*", default=None, help="names (default: all registered)")
    args = parser.parse_args()
    device = torch.device(args.device)

    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, 3, args.size, args.size, generator=g).to(device)
    x_adv = (x + 0.02 * torch.randn(x.shape, generator=g).to(device)).clamp(0, 1).requires_grad_(True)

    resnet = torchvision.models.resnet50(weights=None).to(device).eval().requires_grad_(False)
    reference = best_times({"resnet50": gradient_pass(resnet, x_adv)}, device, args.repeats)["resnet50"]

    print(f"{machine(device)}; batch {args.batch} × 3 × {args.size} × "
          f"{args.size}, float32; forward + backward w.r.t. the input, best of {args.repeats}")
    print(f"{'':22}{'ms':>10}{'/ ResNet-50':>14}  target")
    print(f"{'resnet50':22}{reference * 1e3:10.1f}{1:14.3f}")
    for name in args.distances or available():
        try:
            distance_fn = get(name).build(x)
        except WeightsError as err:
            print(f"{name:22}   skipped: {err}")
            continue
        seconds = best_times({name: gradient_pass(distance_fn, x_adv)}, device, args.repeats)[name]
        target = TARGETS.get(name)
        met = target is not None and seconds / reference <= target
        verdict = "" if target is None else f"≤ {target:.3f} on GPU: " + (
            ("met" if met else "NOT met") if device.type == "cuda" else "(this is not a GPU)")
        print(f"{name:22}{seconds * 1e3:10.1f}{seconds / reference:14.3f}  {verdict}")


if __name__ == "__main__":
    main()
