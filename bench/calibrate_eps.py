"""Evidence for the default ε (`init_lr_distance`) of CIEDE2000 and LPIPS: ALMA on real models for a grid of ε.

    OMP_NUM_THREADS=1 nice -n 10 python bench/calibrate_eps.py                    # what docs/distances.md reports
    python bench/calibrate_eps.py --images 16 --steps 100 --distances lpips       # a quicker look

The paper's rule: ε ≈ a tenth of typical final distances. For each model, distance, number of steps and ε this
prints the attack success rate, the median final distance of the successful samples (over the correctly classified
images), and ε / median. Models: the paper's MNIST SmallCNN and the CIFAR-10 ResNet-20 (akamaster); images: the
first --images test images of each set. Needs the offline data (`--data`, default $ALMA_WEIGHTS_DIR or
../shared/data).
"""
from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

import alma
from alma.distances import get
from alma.images import load_image, to_model_input
from alma.models import ModelInfo, get_info, load_model

GRIDS = {
    "ciede2000": (0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    "lpips": (3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
}


def mnist(data: Path, n: int) -> tuple[Tensor, Tensor]:
    def read(name: str) -> np.ndarray:
        raw = gzip.open(data / "mnist" / "MNIST" / "raw" / name).read()
        dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(raw[3])]
        return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)

    x = torch.from_numpy(read("t10k-images-idx3-ubyte.gz")[:n].copy()).float().div(255).unsqueeze(1)
    return x, torch.from_numpy(read("t10k-labels-idx1-ubyte.gz")[:n].astype(np.int64))


def cifar10(data: Path, n: int) -> tuple[Tensor, Tensor]:
    arrays = np.load(data / "cifar10" / "cifar10_test_first1017.npz")
    x = torch.from_numpy(arrays["x"][:n]).permute(0, 3, 1, 2).float().div(255).contiguous()
    return x, torch.from_numpy(arrays["y"][:n].astype(np.int64))


def imagenet(data: Path, n: int, info: ModelInfo) -> tuple[Tensor, Tensor]:
    """The labelled foolbox ImageNet samples (file names end in the class index), as the model sees them."""
    files = sorted((data / "sample_images" / "foolbox_imagenet").glob("imagenet_*.jpg"))[:n]
    x = torch.cat([to_model_input(load_image(f.read_bytes()), info) for f in files])
    return x, torch.tensor([int(f.stem.split("_")[2]) for f in files])


def dataset(model_name: str, data: Path, n: int) -> tuple[Tensor, Tensor]:
    info = get_info(model_name)
    if info.dataset == "imagenet":
        return imagenet(data, n, info)
    return (mnist if info.dataset == "mnist" else cifar10)(data, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("ALMA_WEIGHTS_DIR") or str(Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--data", type=Path, default=Path(default_data))
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--steps", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--distances", nargs="*", default=list(GRIDS))
    parser.add_argument("--models", nargs="*", default=["mnist-smallcnn-paper", "cifar10-resnet20"])
    parser.add_argument("--eps", type=float, nargs="*", help="ε values to try (default: the distance's grid)")
    args = parser.parse_args()
    os.environ.setdefault("ALMA_WEIGHTS_DIR", str(args.data))

    print(f"{'model':22}{'distance':11}{'steps':>6}{'eps':>9}{'default':>9}{'ASR %':>7}{'median':>10}"
          f"{'eps/median':>11}{'s':>7}")
    for model_name in args.models:
        model = load_model(model_name)
        x, y = dataset(model_name, args.data, args.images)
        correct = model(x).argmax(1) == y
        x, y = x[correct], y[correct]
        for name in args.distances:
            default = get(name).eps_for(x)
            for steps in args.steps:
                for eps in sorted({*(args.eps or GRIDS[name]), round(default, 6)}):
                    start = time.perf_counter()
                    result = alma.attack(model, x, y, distance=name, num_steps=steps, init_lr_distance=eps,
                                         record=False, seed=0)
                    found = result.distances[result.success]
                    median = found.median().item() if len(found) else float("nan")
                    print(f"{model_name:22}{name:11}{steps:6d}{eps:9.4g}{'*' if eps == round(default, 6) else '':>9}"
                          f"{100 * result.success.float().mean().item():7.1f}{median:10.4g}{eps / median:11.3g}"
                          f"{time.perf_counter() - start:7.1f}", flush=True)


if __name__ == "__main__":
    main()
