"""The training script: its adversarial examples and augmentation are what they claim, and runs are reproducible."""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F

from alma.models import DEFAULT_MODEL, load_model
from alma.models.smallcnn import SmallCNN
from alma.models.train import parse_args, pgd_l2, random_shift, train


def test_random_shift_moves_whole_images() -> None:
    x = torch.zeros(64, 1, 28, 28)
    x[:, 0, 10:16, 12:15] = torch.rand(64, 6, 3, generator=torch.Generator().manual_seed(1))
    shifted = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert torch.allclose(shifted.sum((1, 2, 3)), x.sum((1, 2, 3)))  # content fully kept (it is 8+ px inside)
    offsets = set()
    for original, moved in zip(x[:, 0], shifted[:, 0]):
        match = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(torch.roll(original, (dy, dx), (0, 1)), moved)]
        assert len(match) == 1
        offsets.add(match[0])
    assert len(offsets) > 10  # offsets vary from image to image


def test_pgd_l2_stays_in_ball_and_box_and_raises_the_loss(mnist_test) -> None:
    x, y = mnist_test[0][:64], mnist_test[1][:64]
    model = load_model(DEFAULT_MODEL)
    adv = pgd_l2(model, x, y, eps=1.5, steps=5, generator=torch.Generator().manual_seed(0))
    norms = (adv - x).flatten(1).norm(dim=1)
    assert float(norms.max()) <= 1.5 + 1e-4 and float(norms.mean()) > 1.0
    assert float(adv.min()) >= 0 and float(adv.max()) <= 1
    with torch.no_grad():
        assert F.cross_entropy(model(adv), y) > F.cross_entropy(model(x), y) + 1.0


def test_training_is_reproducible(shared_data: Path, tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run / "smallcnn.pt"
        args = parse_args(["--data", str(shared_data / "mnist"), "--out", str(out), "--seed", "3", "--epochs", "1",
                           "--limit", "256", "--batch-size", "64", "--adversarial", "l2", "--steps", "2"])
        train(args)
        SmallCNN().load_state_dict(torch.load(out, weights_only=True), strict=True)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
