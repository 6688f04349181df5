"""Train the project's own MNIST SmallCNNs (the bundled weights), reproducibly.

    python -m alma.models.train --data ../shared/data/mnist --out alma/models/weights/mnist_smallcnn.pt --seed 0
    python -m alma.models.train --data ../shared/data/mnist --out alma/models/weights/mnist_smallcnn_pgdl2.pt \
        --seed 0 --init alma/models/weights/mnist_smallcnn.pt --adversarial l2 --eps 2.0 --steps 5 --epochs 3

Standard training: Adam, cosine learning-rate decay to 0, random shifts of up to 2 pixels. Adversarial training
(`--adversarial l2`): every training batch is replaced by its PGD-ℓ2 adversarial examples (Madry et al.), with a
random start in the ε-ball and step size 2.5·ε/steps. The run is seeded and uses deterministic algorithms; `--data`
is a torchvision MNIST root (read in place), downloaded by torchvision when it is missing and `--download` is given.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .mnist import load_mnist
from .smallcnn import SmallCNN


def random_shift(x: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Each image translated by its own random offset in [-max_shift, max_shift]² (zero fill)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n, 1, 1), generator=generator)
    dx = torch.randint(0, 2 * max_shift + 1, (n, 1, 1), generator=generator)
    rows = dy + torch.arange(h).view(1, h, 1)
    cols = dx + torch.arange(w).view(1, 1, w)
    return padded[torch.arange(n).view(n, 1, 1), 0, rows, cols].unsqueeze(1)


def _per_sample_norm(x: Tensor) -> Tensor:
    return x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))


def pgd_l2(model: nn.Module, x: Tensor, y: Tensor, eps: float, steps: int, generator: torch.Generator) -> Tensor:
    """Untargeted PGD-ℓ2 on the cross-entropy, random start in the ε-ball, inputs kept in [0, 1]."""
    noise = torch.randn(x.shape, generator=generator)
    radius = eps * torch.rand(x.shape[0], generator=generator).view(-1, 1, 1, 1)
    delta = ((x + noise / _per_sample_norm(noise) * radius).clamp(0, 1) - x)
    step = 2.5 * eps / steps
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(x + delta), y)
        grad, = torch.autograd.grad(loss, delta)
        delta = delta.detach() + step * grad / _per_sample_norm(grad)
        delta = delta * (eps / _per_sample_norm(delta)).clamp(max=1)
        delta = (x + delta).clamp(0, 1) - x
    return (x + delta).detach()


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 2000) -> float:
    model.eval()
    correct = sum((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
                  for i in range(0, len(x), batch_size))
    return correct / len(x)


def train(args: argparse.Namespace) -> float:
    """Trains, saves the state dict to `args.out` and returns the final test accuracy."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        return _train(args)
    finally:
        torch.use_deterministic_algorithms(deterministic)


def _train(args: argparse.Namespace) -> float:
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    x_train, y_train = load_mnist(args.data, train=True, download=args.download)
    x_test, y_test = load_mnist(args.data, train=False, download=args.download)
    if args.limit:
        x_train, y_train, x_test, y_test = x_train[:args.limit], y_train[:args.limit], x_test[:args.limit], \
            y_test[:args.limit]

    model = SmallCNN()
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total = args.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 0.5 * (1 + math.cos(math.pi * i / total)))

    for epoch in range(args.epochs):
        start, running = time.time(), 0.0
        order = torch.randperm(len(x_train), generator=generator)
        for i in range(steps_per_epoch):
            idx = order[i * args.batch_size:(i + 1) * args.batch_size]
            x, y = random_shift(x_train[idx], args.shift, generator), y_train[idx]
            if args.adversarial == "l2":
                model.eval()
                x = pgd_l2(model, x, y, args.eps, args.steps, generator)
            model.train()
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running += loss.item()
            if (i + 1) % 100 == 0:
                print(f"epoch {epoch + 1} step {i + 1}/{steps_per_epoch} loss {running / (i + 1):.4f} "
                      f"({time.time() - start:.0f} s)", flush=True)
        acc = accuracy(model, x_test, y_test)
        print(f"epoch {epoch + 1}: loss {running / steps_per_epoch:.4f}, test accuracy {acc:.4%}, "
              f"{time.time() - start:.0f} s", flush=True)

    acc = accuracy(model, x_test, y_test)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"final test accuracy {acc:.4%}; saved {out} (sha256 {digest})", flush=True)
    return acc


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m alma.models.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="mnist", help="torchvision MNIST root (read in place)")
    p.add_argument("--download", action="store_true", help="let torchvision download MNIST when it is missing")
    p.add_argument("--out", required=True, help="where to write the state dict")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="initial Adam learning rate (cosine decay to 0)")
    p.add_argument("--shift", type=int, default=2, help="random translation in pixels (0: none)")
    p.add_argument("--init", help="start from this state dict (e.g. fine-tune the regular model)")
    p.add_argument("--adversarial", choices=("none", "l2"), default="none")
    p.add_argument("--eps", type=float, default=2.0, help="ℓ2 radius of the adversarial training")
    p.add_argument("--steps", type=int, default=5, help="PGD steps per training batch")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images of each split (smoke tests)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


if __name__ == "__main__":
    train(parse_args())
