"""Every bad input is refused with its own message before any work (nothing written)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alma.evaluate.cli import main

from .conftest import arguments


def _refused(capsys, args: list[str], out: Path, message: str) -> None:
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("alma-eval: error:") and message in error, error
    assert not (out / "samples.parquet").exists() and not (out / "chunks").exists()


def _with(args: list[str], option: str, *values: str) -> list[str]:
    i = args.index(option)
    end = i + 1
    while end < len(args) and not args[end].startswith("--"):
        end += 1
    return [*args[:i], option, *values, *args[end:]]


@pytest.mark.parametrize("option, values, message", [
    ("--model", ["no-such-model"], "unknown model 'no-such-model'"),
    ("--attacks", ["alma-l2", "no-such-attack"], "unknown attack 'no-such-attack'"),
    ("--attacks", ["ddn", "ddn"], "named twice"),
    ("--dataset", ["imagenette"], "unknown dataset 'imagenette'"),
    ("--num-samples", ["20000"], "not within the 10000 samples"),
    ("--batch-size", ["0"], "--batch-size must be ≥ 1"),
    ("--model", ["cifar10-resnet20"], "takes (3, 32, 32)"),
])
def test_bad_arguments(capsys, shared_data: Path, tmp_path: Path, option: str, values: list[str],
                       message: str) -> None:
    out = tmp_path / "out"
    _refused(capsys, _with(arguments(shared_data, out), option, *values), out, message)
    assert not out.exists()


def test_bad_eps(capsys, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _refused(capsys, [*arguments(shared_data, out), "--eps", "l2=one"], out, "--eps takes DISTANCE=V")


def test_no_mnist_under_data(capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _refused(capsys, arguments(tmp_path, out), out, "no MNIST test set under")


def test_a_folder_with_no_images(capsys, shared_data: Path, tmp_path: Path) -> None:
    (tmp_path / "images" / "cat").mkdir(parents=True)
    (tmp_path / "images" / "cat" / "notes.txt").write_text("no image here")
    out = tmp_path / "out"
    _refused(capsys, _with(arguments(shared_data, out), "--dataset", str(tmp_path / "images")), out,
             "no images in")


def test_labels_outside_the_models_classes(capsys, shared_data: Path, tmp_path: Path) -> None:
    np.savez(tmp_path / "digits.npz", x=np.zeros((8, 28, 28), np.uint8), y=np.array([0, 1, 2, 3, 4, 5, 12, 3]))
    out = tmp_path / "out"
    _refused(capsys, _with(arguments(shared_data, out), "--dataset", str(tmp_path / "digits.npz")), out,
             "labels outside the model's 10 classes (0 to 9): [12]")


def test_an_image_folder_is_read(capsys, shared_data: Path, tmp_path: Path) -> None:
    """The folder's images are fitted to the model; two classes: 0 and 1, so its labels are valid."""
    for label in ("0", "1"):
        (tmp_path / "images" / label).mkdir(parents=True)
        Image.new("L", (28, 28), 0).save(tmp_path / "images" / label / "a.png")
    out = tmp_path / "out"
    args = _with(_with(arguments(shared_data, out), "--dataset", str(tmp_path / "images")), "--num-samples", "3")
    _refused(capsys, args, out, "not within the 2 samples")


def test_an_out_folder_of_another_command(capsys, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text('{"model": "mnist-smallcnn-paper"}')
    _refused(capsys, arguments(shared_data, out), out, "holds another command's results")
    (out / "run.json").unlink()
    (out / "other.txt").write_text("someone's file")
    _refused(capsys, arguments(shared_data, out), out, "is not empty and holds no run.json")
    assert (out / "other.txt").read_text() == "someone's file"
