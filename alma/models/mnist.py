"""MNIST as tensors, read straight from the original idx `.gz` files (no extraction, nothing written)."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

_FILES = {True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an idx file (gzip-compressed or not)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def raw_dir(root: Path) -> Path:
    """The folder holding the idx files under a torchvision MNIST root (`root/MNIST/raw`) or `root` itself."""
    for candidate in (root / "MNIST" / "raw", root / "raw", root):
        if (candidate / _FILES[False][0]).is_file():
            return candidate
    return root / "MNIST" / "raw"


def load_mnist(root: str | Path, train: bool, download: bool = False) -> tuple[Tensor, Tensor]:
    """Images [N, 1, 28, 28] float32 in [0, 1] and labels [N] int64.

    `root` is a torchvision MNIST root; with `download=True` missing files are fetched by torchvision first.
    """
    root = Path(root)
    images_name, labels_name = _FILES[train]
    folder = raw_dir(root)
    if not (folder / images_name).is_file():
        if not download:
            raise FileNotFoundError(f"MNIST file {images_name} not found under {root} (expected in {folder})")
        from torchvision.datasets import MNIST
        MNIST(str(root), train=train, download=True)
        folder = raw_dir(root)
    images = torch.from_numpy(read_idx(folder / images_name).copy()).float().div_(255).unsqueeze(1)
    labels = torch.from_numpy(read_idx(folder / labels_name).astype(np.int64))
    return images, labels
