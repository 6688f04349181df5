"""Time per iteration of ALMA ℓ2 against a bare forward+backward loop and the reference implementation.

    python bench/speed.py          # the issue's setting (GPU when present): SmallCNN b=1000, ResNet-50 b=64
    python bench/speed.py --device cpu --steps 20 --resnet-batch 4 --smallcnn-batch 256
    python bench/speed.py --device cpu --threads 1 --batch1-only   # the explorer's case: one image at a time

Prints one table per model: (a) bare model forward + backward, (b) adv_lib's alma, (c) ours with record=False,
(d) ours with record=True, (e) ours with on_step every 10 steps; then the ratios c/a, c/b, d/c, e/c. Then the
SmallCNN at batch 1: (a), (c), (d), (e) on_step every step, (f) snapshot_every=1, (g) cuda_graph=True (CUDA only),
the ratios c/a, d/a, e/d, f/d (g/a, g/d), and the operators per step (torch profiler) of ours beside the bare loop's.
Then the time of one 28×28 image attacked for 1000 steps, beside the bare loop's. Weights are random (timing only).
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torchvision
from torch import Tensor, nn

import alma
from alma.models.smallcnn import SmallCNN

from timing import best_times, machine, operators_per_step


def bare_loop(model: nn.Module, x: Tensor, steps: int) -> None:
    delta = torch.zeros_like(x, requires_grad=True)
    for _ in range(steps):
        (grad,) = torch.autograd.grad(model(x + delta).sum(), delta)
        delta.data.add_(grad, alpha=-1e-3)


def variants(model: nn.Module, x: Tensor, y: Tensor, steps: int) -> dict[str, Callable[[], object]]:
    runs = {"(a) bare fwd+bwd": lambda: bare_loop(model, x, steps)}
    try:
        from adv_lib.attacks import alma as reference
        runs["(b) adv_lib alma"] = lambda: reference(model, x, y, num_steps=steps, α=0.9, init_lr_distance=0.1)
    except ImportError:
        pass
    common = dict(distance="l2", num_steps=steps, alpha=0.9, init_lr_distance=0.1)
    runs["(c) ours, record=False"] = lambda: alma.attack(model, x, y, record=False, **common)
    runs["(d) ours, record=True"] = lambda: alma.attack(model, x, y, record=True, **common)
    runs["(e) ours, on_step every 10"] = lambda: alma.attack(model, x, y, record=True, every=10,
                                                             on_step=lambda step, rows: None, **common)
    return runs


def batch1_variants(model: nn.Module, x: Tensor, y: Tensor, steps: int) -> dict[str, Callable[[], object]]:
    """The explorer's case: one image, followed step by step."""
    common = dict(distance="l2", num_steps=steps, alpha=0.9, init_lr_distance=0.1)
    runs = {
        "(a) bare fwd+bwd": lambda: bare_loop(model, x, steps),
        "(c) ours, record=False": lambda: alma.attack(model, x, y, record=False, **common),
        "(d) ours, record=True": lambda: alma.attack(model, x, y, record=True, **common),
        "(e) ours, on_step every 1": lambda: alma.attack(model, x, y, record=True, every=1,
                                                         on_step=lambda step, rows: None, **common),
        "(f) ours, snapshot_every=1": lambda: alma.attack(model, x, y, record=True, snapshot_every=1, **common),
    }
    if x.is_cuda:
        runs["(g) ours, cuda_graph=True (CUDA graph)"] = lambda: alma.attack(model, x, y, record=True,
                                                                             cuda_graph=True, **common)
    return runs


RATIOS = [("c/a", "(c)", "(a)"), ("c/b", "(c)", "(b)"), ("d/c", "(d)", "(c)"), ("e/c", "(e)", "(c)")]
BATCH1_RATIOS = [("c/a", "(c)", "(a)"), ("d/a", "(d)", "(a)"), ("e/d", "(e)", "(d)"), ("f/d", "(f)", "(d)"),
                 ("g/a", "(g)", "(a)"), ("g/d", "(g)", "(d)")]


def table(name: str, model: nn.Module, x: Tensor, steps: int, repeats: int, batch1: bool = False) -> None:
    device = x.device
    with torch.no_grad():
        y = model(x).argmax(1)
    print(f"\n{name}: batch {len(x)}, input {tuple(x.shape[1:])}, {steps} steps, best of {repeats} interleaved rounds")
    print("| variant | ms / iteration |\n|---|---:|")
    per_step = {}
    runs = (batch1_variants if batch1 else variants)(model, x, y, steps)
    for label, seconds in best_times(runs, device, repeats).items():
        per_step[label[:3]] = seconds / steps * 1e3
        print(f"| {label} | {per_step[label[:3]]:.2f} |")
    ratios = BATCH1_RATIOS if batch1 else RATIOS
    print(" ".join(f"{r}={per_step[n] / per_step[d]:.3f}" for r, n, d in ratios if n in per_step and d in per_step))


def operators(model: nn.Module, x: Tensor) -> None:
    """Operators per step at batch 1: ours (record=True, the explorer's setting) and the bare loop."""
    with torch.no_grad():
        y = model(x).argmax(1)
    ours = operators_per_step(lambda n: alma.attack(model, x, y, num_steps=n, alpha=0.9, init_lr_distance=0.1))
    bare = operators_per_step(lambda n: bare_loop(model, x, n))
    line = f"Operators per step (top-level aten, torch profiler), batch 1: ours {ours:.1f}, bare {bare:.1f} "
    if x.is_cuda:
        graph = operators_per_step(lambda n: alma.attack(model, x, y, num_steps=n, alpha=0.9, init_lr_distance=0.1,
                                                         cuda_graph=True), steps=(40, 80))
        line += f"(ours with cuda_graph=True: {graph:.1f}) "
    print(line + f"(ours − bare = {ours - bare:+.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smallcnn-batch", type=int, default=1000)
    parser.add_argument("--resnet-batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    parser.add_argument("--skip-resnet", action="store_true")
    parser.add_argument("--batch1-only", action="store_true", help="only the batch-1 table and operator counts")
    parser.add_argument("--batch1-steps", type=int, default=None, help="steps of the batch-1 table (default: --steps)")
    parser.add_argument("--image-steps", type=int, default=1000, help="steps of the one-image wall time")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"{machine(device)}; torchvision {torchvision.__version__}")
    gen = torch.Generator().manual_seed(0)

    smallcnn = SmallCNN().to(device).eval().requires_grad_(False)
    if not args.batch1_only:
        x = torch.rand(args.smallcnn_batch, 1, 28, 28, generator=gen).to(device)
        table("SmallCNN (MNIST-shaped)", smallcnn, x, args.steps, args.repeats)
        if not args.skip_resnet:
            resnet = torchvision.models.resnet50().to(device).eval().requires_grad_(False)
            x = torch.rand(args.resnet_batch, 3, 224, 224, generator=gen).to(device)
            table("ResNet-50 (224²)", resnet, x, args.steps, args.repeats)

    x = torch.rand(1, 1, 28, 28, generator=gen).to(device)
    table("SmallCNN (MNIST-shaped)", smallcnn, x, args.batch1_steps or args.steps, args.repeats, batch1=True)
    operators(smallcnn, x)
    if args.batch1_only:
        return
    with torch.no_grad():
        y = smallcnn(x).argmax(1)
    steps = args.image_steps
    seconds = best_times({"alma": lambda: alma.attack(smallcnn, x, y, num_steps=steps, record=True),
                          "bare": lambda: bare_loop(smallcnn, x, steps)}, device, args.repeats)
    print(f"\nOne 28×28 image, {steps} steps, record=True: {seconds['alma']:.2f} s "
          f"(the bare forward + backward loop alone: {seconds['bare']:.2f} s)")


if __name__ == "__main__":
    main()
