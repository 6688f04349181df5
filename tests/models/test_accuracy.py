"""Real networks reach their known accuracy on the offline test data (MNIST test set, CIFAR-10 first 1017 test
images, the 20 labelled foolbox ImageNet samples), through the project's own input pipeline."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from alma.images import load_image, to_model_input
from alma.models import get_info, load_model


def accuracy(name: str, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2500) -> float:
    model = load_model(name)
    with torch.no_grad():
        correct = sum((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
                      for i in range(0, len(x), batch_size))
    return correct / len(x)


@pytest.mark.parametrize(("name", "minimum"), [("mnist-smallcnn", 0.993), ("mnist-smallcnn-pgd-l2", 0.985)])
def test_bundled_models_reach_their_accuracy(name: str, minimum: float, mnist_test) -> None:
    assert accuracy(name, *mnist_test) >= minimum


# MANIFEST section 5: the paper's checkpoints (and advertorch's LeNet5s) on the full MNIST test set.
@pytest.mark.parametrize(("name", "expected"), [
    ("mnist-smallcnn-paper", 0.9944), ("mnist-smallcnn-ddn", 0.9902), ("mnist-smallcnn-trades", 0.9948),
    ("mnist-lenet5", 0.9889), ("mnist-lenet5-linf", 0.9864),
])
def test_published_mnist_checkpoints(name: str, expected: float, mnist_test) -> None:
    acc = accuracy(name, *mnist_test)
    assert acc == pytest.approx(expected, abs=2e-4)
    if name.startswith("mnist-smallcnn"):
        assert acc >= 0.99


# MANIFEST sections 8a/8b: accuracy on the first 1017 CIFAR-10 test images.
@pytest.mark.parametrize(("name", "expected"), [
    ("cifar10-resnet20", 0.9164), ("cifar10-resnet32", 0.9282), ("cifar10-resnet44", 0.9341),
    ("cifar10-resnet56", 0.9272), ("cifar10-resnet2b-pgd", 0.7040), ("cifar10-resnet4b-pgd", 0.7729),
])
def test_cifar10_models(name: str, expected: float, cifar10_test) -> None:
    assert accuracy(name, *cifar10_test, batch_size=1017) == pytest.approx(expected, abs=1.5 / 1017)


@pytest.fixture(scope="module")
def foolbox_imagenet(shared_data: Path) -> tuple[list[torch.Tensor], torch.Tensor]:
    files = sorted((shared_data / "sample_images" / "foolbox_imagenet").glob("imagenet_*.jpg"))
    assert len(files) == 20
    labels = torch.tensor([int(f.stem.split("_")[2]) for f in files])
    return [load_image(f.read_bytes()) for f in files], labels


# MANIFEST sections 8c/8d: top-1 / top-5 hits on the 20 labelled foolbox ImageNet images (Resize 256, crop 224).
@pytest.mark.parametrize(("name", "top1", "top5"), [
    ("imagenet-squeezenet1_1-onnx", 14, 19), ("imagenet-mobilenet-v2-keras", 15, 20),
])
def test_offline_imagenet_models(name: str, top1: int, top5: int, foolbox_imagenet) -> None:
    images, labels = foolbox_imagenet
    info = get_info(name)
    x = torch.cat([to_model_input(image, info) for image in images])
    with torch.no_grad():
        best5 = load_model(name)(x).topk(5, dim=1).indices
    assert int((best5[:, 0] == labels).sum()) == top1
    assert int((best5 == labels[:, None]).any(1).sum()) == top5
