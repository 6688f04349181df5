"""The explicit rules that turn a loaded image into a model's input."""
from __future__ import annotations

import pytest
import torch

from alma.images import grayscale, to_model_input, would_invert
from alma.models import get_info

MNIST, CIFAR, IMAGENET = get_info("mnist-smallcnn"), get_info("cifar10-resnet20"), get_info("imagenet-resnet50")


def gradient_image(height: int, width: int) -> torch.Tensor:
    """Red rises left to right, green top to bottom, blue constant: positions can be read back from colours."""
    red = torch.linspace(0, 1, width).expand(height, width)
    green = torch.linspace(0, 1, height)[:, None].expand(height, width)
    return torch.stack([red, green, torch.full((height, width), 0.25)])


@pytest.mark.parametrize(("info", "size"), [(CIFAR, (32, 32)), (IMAGENET, (224, 224))])
@pytest.mark.parametrize("shape", [(300, 451), (600, 400), (1, 1), (10, 700)])
def test_colour_models_shape_and_range(info, size, shape) -> None:
    out = to_model_input(gradient_image(*shape), info)
    assert out.shape == (1, 3, *size) and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_imagenet_rule_is_resize_256_then_centre_crop_224() -> None:
    out = to_model_input(gradient_image(512, 1024), IMAGENET)[0]
    # shorter side 512 → 256, so the 1024-wide image becomes 512 wide; the centre 224 columns span 144..367,
    # i.e. red from 144/511 to 367/511 (and green over 16..239 of 256 rows)
    assert out[0, 0, 0] == pytest.approx(144.5 / 512, abs=0.01)
    assert out[0, 0, -1] == pytest.approx(367.5 / 512, abs=0.01)
    assert out[1, 0, 0] == pytest.approx(16.5 / 256, abs=0.01)
    assert out[1, -1, 0] == pytest.approx(239.5 / 256, abs=0.01)
    assert out[2].sub(0.25).abs().max() < 1e-5


def test_cifar_rule_is_shorter_side_32_then_centre_crop() -> None:
    out = to_model_input(gradient_image(64, 128), CIFAR)[0]
    # 64×128 → 32×64; the centre 32 columns are 16..47 of 64
    assert out[0, 0, 0] == pytest.approx(16.5 / 64, abs=0.015)
    assert out[0, 0, -1] == pytest.approx(47.5 / 64, abs=0.015)


def test_grayscale_is_bt601_luma() -> None:
    image = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1).expand(3, 2, 2)
    assert torch.allclose(grayscale(image), torch.full((2, 2), 0.299))
    mixed = torch.tensor([0.2, 0.6, 1.0]).view(3, 1, 1)
    assert float(grayscale(mixed)) == pytest.approx(0.299 * 0.2 + 0.587 * 0.6 + 0.114 * 1.0)


def mnist_like(dark_on_light: bool) -> torch.Tensor:
    digit = torch.zeros(28, 28)
    digit[6:22, 12:16] = 1.0  # a "1"
    gray = 1 - digit if dark_on_light else digit
    return gray.expand(3, -1, -1).clone()


def test_mnist_28_pixel_image_kept_as_is() -> None:
    image = mnist_like(dark_on_light=False)
    out = to_model_input(image, MNIST)
    assert out.shape == (1, 1, 28, 28)
    assert torch.equal(out[0, 0], image[0])
    assert not would_invert(image)


def test_mnist_polarity_rule_and_override() -> None:
    light = mnist_like(dark_on_light=True)
    assert would_invert(light)
    assert torch.equal(to_model_input(light, MNIST)[0, 0], 1 - light[0])  # inverted: white digit on black
    assert torch.equal(to_model_input(light, MNIST, invert=False)[0, 0], light[0])  # override: kept
    dark = mnist_like(dark_on_light=False)
    assert torch.equal(to_model_input(dark, MNIST, invert=True)[0, 0], 1 - dark[0])  # override: inverted


def test_mnist_photo_is_boxed_and_centred() -> None:
    """A dark stroke on a grey-white page, off-centre in a large photo: inverted, content fitted into 20×20 and
    centred by centre of mass, background black."""
    page = torch.full((300, 400), 0.85)
    page[40:200, 50:80] = 0.1  # a tall bar (160×30) near the top-left corner
    out = to_model_input(page.expand(3, -1, -1), MNIST)[0, 0]
    assert out.shape == (28, 28)
    rows, cols = torch.nonzero(out > 0.5, as_tuple=True)
    assert int(rows.max() - rows.min() + 1) == 20  # the longer side fills the 20-pixel box
    assert 3 <= int(cols.max() - cols.min() + 1) <= 5  # aspect ratio kept (30/160·20 ≈ 3.75)
    mass = out.sum()
    cy = float((out.sum(1) * torch.arange(28)).sum() / mass)
    cx = float((out.sum(0) * torch.arange(28)).sum() / mass)
    assert abs(cy - 13.5) <= 0.6 and abs(cx - 13.5) <= 0.6
    assert float(out[0].max()) == 0 and float(out[:, 0].max()) == 0  # background is black


def test_mnist_blank_image_does_not_fail() -> None:
    out = to_model_input(torch.ones(3, 50, 50), MNIST)
    assert out.shape == (1, 1, 28, 28) and torch.isfinite(out).all()


def test_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"expected an image \[3, H, W\]"):
        to_model_input(torch.zeros(1, 3, 8, 8), CIFAR)
