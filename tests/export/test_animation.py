"""Animation frames, GIF and MP4 of real runs: what each frame shows, that the files decode to the chosen frames,
and that a 1000-step MNIST run fits in a GIF for slides."""
from __future__ import annotations

import io

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from ui.export import DEFAULT_FRAMES, animation_frames, difference_factor, frame_indices, stack_frames, to_gif, to_mp4
from ui.export.frames import _Layout
from ui.images import to_uint8

from .conftest import Iterates, attack_with_iterates

WIDTH = 720
GIF_LIMIT = 10 * 2 ** 20


@pytest.fixture(scope="module")
def frames(long_run: Iterates) -> list[np.ndarray]:
    return animation_frames(long_run.clean, long_run.iterates, long_run.steps, long_run.trace, "ℓ2", num_frames=12,
                            width=WIDTH)


def _enlarged(image: Tensor, scale: int) -> np.ndarray:
    return np.repeat(to_uint8(image), scale, axis=0).repeat(scale, axis=1)


def test_frame_indices_spread_over_the_run() -> None:
    assert frame_indices(1000, 5).tolist() == [0, 250, 500, 749, 999]
    assert frame_indices(3, 100).tolist() == [0, 1, 2]
    assert frame_indices(1, 10).tolist() == [0]


def test_each_frame_shows_the_original_the_iterate_and_their_difference(long_run: Iterates,
                                                                       frames: list[np.ndarray]) -> None:
    assert len(frames) == 12 and {f.shape for f in frames} == {frames[0].shape} and frames[0].dtype == np.uint8
    layout = _Layout.of((28, 28), WIDTH, titled=False)
    assert frames[0].shape == (layout.height, WIDTH, 3) and layout.cell == (224, 224)  # MNIST enlarged 8 times
    (x0, x1, x2), y = layout.panels_x, layout.panels_y
    shown = long_run.iterates[frame_indices(1000, 12)].float()
    factor = difference_factor(long_run.clean, shown)
    for frame, iterate in zip(frames, shown):
        panels = [frame[y:y + 224, x:x + 224, 0] for x in (x0, x1, x2)]
        assert np.array_equal(panels[0], _enlarged(long_run.clean, 8))
        assert np.array_equal(panels[1], _enlarged(iterate, 8))
        assert np.array_equal(panels[2], _enlarged((0.5 + factor * (iterate - long_run.clean)).clamp(0, 1), 8))
    assert factor == pytest.approx(0.5 / float((shown - long_run.clean).abs().max()))
    assert not np.array_equal(frames[0], frames[-1])
    # the text and the cursor change between frames with the same iterate panel: the step is drawn on each frame
    again = animation_frames(long_run.clean, long_run.iterates[[998, 998]], torch.tensor([998, 999]),
                             long_run.trace, "ℓ2", width=WIDTH)
    assert not np.array_equal(again[0], again[1])


def test_images_of_any_size_fit_the_frame(long_run: Iterates) -> None:
    for shape in ((3, 32, 32), (3, 300, 200)):
        clean = torch.rand(shape, generator=torch.Generator().manual_seed(0))
        iterates = (clean + 0.1 * torch.randn(4, *shape)).clamp(0, 1)
        frames = animation_frames(clean, iterates, torch.tensor([0, 10, 500, 999]), long_run.trace, "ℓ2",
                                  width=WIDTH, title="a title")
        assert len(frames) == 4 and frames[0].shape[1] == WIDTH
    with pytest.raises(ValueError, match="iterates"):
        animation_frames(clean, iterates[:, :1], torch.arange(4), long_run.trace, "ℓ2")
    with pytest.raises(ValueError, match="not in the trace"):
        animation_frames(clean, iterates, torch.tensor([0, 1, 2, 1000]), long_run.trace, "ℓ2")


def test_gif_decodes_to_the_chosen_frames(frames: list[np.ndarray]) -> None:
    with Image.open(io.BytesIO(to_gif(frames, fps=5))) as gif:
        assert gif.format == "GIF" and gif.n_frames == 12 and gif.size == (WIDTH, frames[0].shape[0])
        assert gif.info["loop"] == 0 and gif.info["duration"] == 200
        for i in (0, 11):
            gif.seek(i)
            decoded = np.asarray(gif.convert("RGB"), dtype=float)
            assert np.abs(decoded - frames[i]).mean() < 2  # one palette of 256 colours, no dithering


def test_gif_of_a_1000_step_run_fits_on_a_slide(long_run: Iterates) -> None:
    frames = animation_frames(long_run.clean, long_run.iterates, long_run.steps, long_run.trace, "ℓ2")
    gif = to_gif(frames)
    with Image.open(io.BytesIO(gif)) as image:
        assert image.n_frames == DEFAULT_FRAMES
    assert len(gif) < GIF_LIMIT, f"{len(gif) / 2 ** 20:.1f} MB"


def test_mp4_is_h264_in_yuv420p_with_the_chosen_frames(frames: list[np.ndarray], tmp_path) -> None:
    odd = [frame[:301, :501] for frame in frames]  # yuv420p needs an even size: padded with white
    path = tmp_path / "run.mp4"
    path.write_bytes(to_mp4(odd, fps=5))
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.send(None)
    decoded = [np.frombuffer(data, np.uint8).reshape(302, 502, 3) for data in reader]
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == (502, 302) and meta["fps"] == 5
    assert len(decoded) == 12
    for frame, back in zip(odd, decoded):
        assert np.abs(back[:301, :501].astype(float) - frame).mean() < 4
    assert decoded[0][301].min() > 200  # the padding row is white


def test_two_runs_one_above_the_other(model: nn.Module, long_run: Iterates) -> None:
    short = attack_with_iterates(model, long_run.clean, 50, alpha=0.0)
    top = animation_frames(long_run.clean, long_run.iterates, long_run.steps, long_run.trace, "ℓ2", num_frames=6,
                           title="α = 0.9")
    bottom = animation_frames(short.clean, short.iterates, short.steps, short.trace, "ℓ2", num_frames=6,
                              width=600, title="α = 0")
    stacked = stack_frames(top, bottom)
    assert len(stacked) == 6
    height = top[0].shape[0]
    for frame, a, b in zip(stacked, top, bottom):
        assert frame.shape == (height + 2 + b.shape[0], WIDTH, 3)
        assert np.array_equal(frame[:height], a) and np.array_equal(frame[height + 2:, :600], b)
        assert (frame[height + 2:, 600:] == 255).all()
    with Image.open(io.BytesIO(to_gif(stacked))) as gif:
        assert gif.n_frames == 6
    with pytest.raises(ValueError, match="frame counts"):
        stack_frames(top, bottom[:5])
