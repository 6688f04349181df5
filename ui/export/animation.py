"""Animations from frames (RGB uint8 arrays [H, W, 3] of one size, e.g. from `animation_frames`): a looping GIF
(Pillow) and an H.264 MP4 in yuv420p (the ffmpeg that the imageio-ffmpeg wheel ships), which browsers and slide
software play."""
from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

DEFAULT_FPS = 10
PALETTE_SAMPLES = 5
"""Frames (evenly spread) whose colours make the GIF's one palette."""
MP4_QUALITY = 18
"""x264's constant rate factor: 18 keeps the text and the pixel edges sharp."""


def to_gif(frames: Sequence[np.ndarray], fps: float = DEFAULT_FPS) -> bytes:
    """A GIF that loops, `fps` frames per second. One palette for all frames and no dithering: the unchanged parts of
    consecutive frames stay identical, so that each frame stores little more than what changed."""
    _size(frames)
    picks = np.linspace(0, len(frames) - 1, min(PALETTE_SAMPLES, len(frames))).round().astype(int)
    palette = Image.fromarray(np.concatenate([frames[i] for i in picks])).quantize(256)
    images = [Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=max(20, round(1000 / fps)), optimize=False)
    return buffer.getvalue()


def to_mp4(frames: Sequence[np.ndarray], fps: float = DEFAULT_FPS) -> bytes:
    """An H.264 MP4 (yuv420p, `fps` frames per second, moov atom first so that it streams); frames of odd size are
    padded with white to even size, which yuv420p needs."""
    height, width = _size(frames)
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "animation.mp4"
        writer = imageio_ffmpeg.write_frames(str(path), (width + width % 2, height + height % 2), fps=fps,
                                             codec="libx264", pix_fmt_out="yuv420p", quality=None,
                                             macro_block_size=1, ffmpeg_log_level="error",
                                             output_params=["-crf", str(MP4_QUALITY), "-movflags", "+faststart"])
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(np.pad(frame, pad, constant_values=255)))
        writer.close()
        return path.read_bytes()


def _size(frames: Sequence[np.ndarray]) -> tuple[int, int]:
    """The common (height, width) of RGB uint8 frames."""
    if not len(frames):
        raise ValueError("no frames")
    shapes = {frame.shape for frame in frames}
    if len(shapes) != 1 or len(frames[0].shape) != 3 or frames[0].shape[2] != 3 or \
            any(frame.dtype != np.uint8 for frame in frames):
        raise ValueError(f"frames must be RGB uint8 arrays [H, W, 3] of one size, got shapes {sorted(shapes)}")
    return frames[0].shape[:2]
