"""Offline samples: they load like uploads, and real models recognise them."""
from __future__ import annotations

import pytest
import torch

from alma.images import to_model_input
from alma.models import DEFAULT_MODEL, get_info, load_model
from alma.samples import list_samples, load_sample


def test_every_sample_loads() -> None:
    for dataset in ("mnist", "cifar10", "imagenet"):
        names = list_samples(dataset)
        assert names
        for name in names:
            image = load_sample(name)
            assert image.dim() == 3 and image.shape[0] == 3 and image.dtype == torch.float32, name
            assert 0 <= float(image.min()) and float(image.max()) <= 1 and float(image.std()) > 0.05, name
    assert list_samples("mnist") == [f"mnist/{d}" for d in range(10)]
    with pytest.raises(KeyError, match="unknown sample 'mnist/x'"):
        load_sample("mnist/x")


def test_drawn_digits_are_mnist_like_and_recognised_by_the_bundled_model() -> None:
    info = get_info(DEFAULT_MODEL)
    x = torch.cat([to_model_input(load_sample(f"mnist/{d}"), info) for d in range(10)])
    assert x.shape == (10, 1, 28, 28)
    assert float(x[:, :, 0].max()) == 0 and float(x[:, :, :, 0].max()) == 0  # black border, white digit
    with torch.no_grad():
        predicted = load_model(DEFAULT_MODEL)(x).argmax(1)
    assert predicted.tolist() == list(range(10))


def test_photos_recognised_by_offline_models(shared_data) -> None:
    checks = {"imagenet-squeezenet1_1-onnx": {"imagenet/chelsea (cat)": "Egyptian cat", "imagenet/coffee": "espresso",
                                              "imagenet/rocket": "missile"},
              "cifar10-resnet20": {"cifar10/cat (chelsea)": "cat", "cifar10/horse (silhouette)": "horse"}}
    for name, expected in checks.items():
        info, model = get_info(name), load_model(name)
        for sample, label in expected.items():
            with torch.no_grad():
                predicted = int(model(to_model_input(load_sample(sample), info)).argmax())
            assert info.class_names[predicted] == label, (name, sample)
