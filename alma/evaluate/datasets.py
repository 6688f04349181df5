"""The evaluation's inputs: a test set as float images [N, C, H, W] in [0, 1] and integer labels [N].

`mnist`: torchvision's layout under the data folder (`DIR/MNIST/raw/t10k-*.gz`, or the idx files in `DIR/mnist/...`).
`cifar10`: an npz of the test set (`x` uint8 [N, 32, 32, 3], `y`), e.g. `DIR/cifar10/cifar10_test_first1017.npz`
(torchvision's pickled batches are never unpickled). A folder: an `ImageFolder` (one sub-folder per class, in sorted
order), each image fitted to the model's input with `alma.images.to_model_input`. A `.npz` file: arrays `x` (or
`images`; uint8 NHWC / NCHW, or float in [0, 1]) and `y` (or `labels`). Nothing is ever unpickled.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..images import load_image, to_model_input
from ..models import ModelInfo
from ..models.mnist import load_mnist

NAMED = ("mnist", "cifar10")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class DatasetError(ValueError):
    """The dataset cannot be found or read, or does not fit the model."""


@dataclass(frozen=True)
class Dataset:
    name: str
    images: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return len(self.labels)


def sha256(image: Tensor) -> str:
    """The sha256 of an image's float32 bytes (identifies the exact input)."""
    return hashlib.sha256(image.contiguous().float().numpy().tobytes()).hexdigest()


def _mnist(data: Path) -> Dataset:
    for root in (data, data / "mnist"):
        try:
            images, labels = load_mnist(root, train=False)
            return Dataset("mnist", images, labels)
        except FileNotFoundError:
            continue
    raise DatasetError(f"no MNIST test set under {data} (expected {data}/MNIST/raw/t10k-images-idx3-ubyte.gz)")


def _cifar10(data: Path) -> Dataset:
    candidates = sorted([*data.glob("*test*.npz"), *data.glob("cifar10/*test*.npz")])
    if not candidates:
        raise DatasetError(f"no CIFAR-10 test npz under {data} (expected e.g. {data}/cifar10/"
                           "cifar10_test_first1017.npz with arrays x [N, 32, 32, 3] and y)")
    return _npz(candidates[0], "cifar10")


def _array(archive: np.lib.npyio.NpzFile, names: tuple[str, ...], path: Path) -> np.ndarray:
    for name in names:
        if name in archive.files:
            return archive[name]
    raise DatasetError(f"{path} has no array named {' or '.join(names)} (it has {', '.join(archive.files) or 'none'})")


def _npz(path: Path, name: str | None = None) -> Dataset:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path} is not a readable npz file: {err}") from None
    x, y = _array(archive, ("x", "images"), path), _array(archive, ("y", "labels"), path)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or len(x) != len(y) or y.ndim != 1:
        raise DatasetError(f"{path}: expected images [N, H, W(, C)] and labels [N], got {x.shape} and {y.shape}")
    images = torch.from_numpy(np.ascontiguousarray(x))
    if images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        images = images.permute(0, 3, 1, 2)
    images = images.float().div_(255) if x.dtype == np.uint8 else images.float()
    if images.min() < 0 or images.max() > 1:
        raise DatasetError(f"{path}: float images must be in [0, 1]")
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{path}: labels must be integers, got {y.dtype}")
    return Dataset(name or path.stem, images.contiguous(), torch.from_numpy(y.astype(np.int64)))


def _image_folder(folder: Path, info: ModelInfo) -> Dataset:
    classes = sorted(p for p in folder.iterdir() if p.is_dir())
    files = [(f, label) for label, c in enumerate(classes) for f in sorted(c.rglob("*"))
             if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]
    if not files:
        raise DatasetError(f"no images in {folder} (expected one sub-folder per class holding "
                           f"{', '.join(sorted(IMAGE_SUFFIXES))} files)")
    images = []
    for path, _ in files:
        try:
            images.append(to_model_input(load_image(path.read_bytes()), info)[0])
        except Exception as err:
            raise DatasetError(f"cannot read image {path}: {err}") from None
    return Dataset(folder.name, torch.stack(images), torch.tensor([label for _, label in files]))


def load_dataset(dataset: str, data: Path, info: ModelInfo) -> Dataset:
    """The dataset `dataset` (a name of `NAMED`, an ImageFolder path or an npz path) checked against the model."""
    path = Path(dataset)
    if dataset in NAMED:
        found = _mnist(data) if dataset == "mnist" else _cifar10(data)
    elif path.is_dir():
        found = _image_folder(path, info)
    elif path.suffix == ".npz" and path.is_file():
        found = _npz(path)
    else:
        raise DatasetError(f"unknown dataset {dataset!r}: expected {' or '.join(NAMED)} (found under --data), a folder "
                           "of class sub-folders, or an .npz file")
    if tuple(found.images.shape[1:]) != tuple(info.input_shape):
        raise DatasetError(f"the {found.name} images are {tuple(found.images.shape[1:])}, but {info.name} takes "
                           f"{tuple(info.input_shape)}")
    bad = (found.labels < 0) | (found.labels >= len(info.class_names))
    if bad.any():
        classes = len(info.class_names)
        raise DatasetError(f"labels outside the model's {classes} classes (0 to {classes - 1}): "
                           f"{sorted(set(found.labels[bad].tolist()))[:5]}")
    return found
