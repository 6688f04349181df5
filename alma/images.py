"""Images from users: `load_image` decodes an upload safely; `to_model_input` turns it into a model's input.

`load_image` accepts PNG, JPEG (also multi-picture), WebP, BMP, GIF and TIFF, from bytes or a binary file, entirely
in memory.
Files over `MAX_BYTES` or `MAX_PIXELS` are rejected before decoding; so are decompression bombs. The EXIF orientation
is applied, transparency is composited on white, animations give their first frame, and every mode (palette, CMYK,
16-bit, grayscale, ...) becomes RGB: grayscale is replicated to three channels. Every rejection is an `ImageError`
whose message can be shown to the user as it is.
"""
from __future__ import annotations

import io
import warnings
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from .models.info import ModelInfo

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
"""The decoders PIL may use (JPEG includes multi-picture files); no other decoder ever sees an upload."""
LUMA = (0.299, 0.587, 0.114)
"""ITU-R BT.601 luma weights, used to turn RGB into grayscale."""

_SUPPORTED = "PNG, JPEG, WebP, BMP, GIF or TIFF"


class ImageError(ValueError):
    """An upload that cannot be used; the message explains why in words a user understands."""


def load_image(data: bytes | bytearray | memoryview | BinaryIO, max_bytes: int = MAX_BYTES,
               max_pixels: int = MAX_PIXELS) -> Tensor:
    """The image in `data` as float32 [3, H, W] RGB in [0, 1]."""
    raw = _read(data, max_bytes)
    image = _open(raw, max_pixels)
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        rgb = _to_rgb(image)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as err:
        raise ImageError(f"This {image.format} file is damaged or incomplete, so it cannot be decoded ({err}).") \
            from err
    return torch.from_numpy(rgb).permute(2, 0, 1).contiguous()


def _read(data: bytes | bytearray | memoryview | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    elif hasattr(data, "read"):
        raw = data.read(max_bytes + 1)
        if not isinstance(raw, (bytes, bytearray)):
            raise ImageError("The upload could not be read as binary data.")
        raw = bytes(raw)
    else:
        raise ImageError(f"Expected the bytes of an image file, got {type(data).__name__}.")
    if not raw:
        raise ImageError("The file is empty (0 bytes).")
    if len(raw) > max_bytes:
        size = f"{len(raw) / 2**20:.1f} MB, " if isinstance(data, (bytes, bytearray, memoryview)) else ""
        raise ImageError(f"This file is {size}larger than the limit of {max_bytes / 2**20:.0f} MB; "
                         "please upload a smaller image.")
    return raw


def _open(raw: bytes, max_pixels: int) -> Image.Image:
    """Opens the file (header only) and checks its size before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"The image has too many pixels to be processed safely (limit {max_pixels / 1e6:.0f} "
                         "megapixels); it may be a decompression bomb.") from err
    except UnidentifiedImageError as err:
        raise ImageError(f"This file is not an image in a supported format ({_SUPPORTED}), or it is damaged.") \
            from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(f"This file could not be read as an image ({err}).") from err
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"The image has no pixels ({width}×{height}).")
    if width * height > max_pixels:
        raise ImageError(f"The image is {width}×{height} pixels, more than the limit of {max_pixels / 1e6:.0f} "
                         "megapixels; please upload a smaller image.")
    return image


def _to_rgb(image: Image.Image) -> np.ndarray:
    """float32 [H, W, 3] in [0, 1]; 16-bit and float modes keep their precision."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        gray = np.asarray(image, dtype=np.float64)
        rgb = np.repeat((np.clip(gray, 0, 65535) / 65535)[..., None], 3, axis=2)
    elif mode == "F":
        rgb = np.repeat(np.clip(np.asarray(image, dtype=np.float64), 0, 1)[..., None], 3, axis=2)
    elif mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255
        alpha = rgba[..., 3:]
        rgb = rgba[..., :3] * alpha + (1 - alpha)
    else:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64) / 255
    return rgb.astype(np.float32)


# --- conversion to a model's input -------------------------------------------------------------------------------

MNIST_BOX = 20
"""MNIST digits are scaled to fit a 20×20 box, then centred by their centre of mass in the 28×28 image."""


def to_model_input(image: Tensor, info: ModelInfo, invert: bool | None = None) -> Tensor:
    """`image` ([3, H, W] or [1, H, W] in [0, 1]) as a batch of one [1, C, H', W'] for the model `info`.

    Colour models (CIFAR-10, ImageNet): the shorter side is resized (`info.interpolation`, antialiased) to
    `info.resize` (or to the input size when None), then the centre is cropped to the input size, as torchvision's
    evaluation transforms.

    MNIST: grayscale by BT.601 luma; polarity: MNIST digits are white on black, so an image whose border is
    brighter than mid-grey (`would_invert`) is inverted; `invert=True/False` overrides that. A 28×28 image is then
    used as it is (it already is an MNIST image). Any other size is treated like MNIST's own preprocessing: the
    background (border median) is mapped to 0 and the brightest pixel to 1, the content's bounding box is scaled to
    fit 20×20 (aspect kept, antialiased) and placed so that its centre of mass is at the centre of the 28×28 image.
    """
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected an image [3, H, W] or [1, H, W], got {tuple(image.shape)}")
    channels, height, width = info.input_shape
    if info.dataset == "mnist":
        return _mnist_input(grayscale(image), (height, width), invert)
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    resized = TF.resize(image, [info.resize or min(height, width)], antialias=True,
                        interpolation=TF.InterpolationMode(info.interpolation))
    return TF.center_crop(resized, [height, width]).clamp(0, 1)[:channels].unsqueeze(0).contiguous()


def grayscale(image: Tensor) -> Tensor:
    """[H, W] luma (ITU-R BT.601) of a [3, H, W] image; a [1, H, W] image is returned as [H, W]."""
    if image.shape[0] == 1:
        return image[0]
    return torch.tensordot(torch.tensor(LUMA, dtype=image.dtype, device=image.device), image, dims=1)


def would_invert(image: Tensor) -> bool:
    """True when `to_model_input` inverts this image for MNIST by default: its border is brighter than mid-grey,
    i.e. it shows a dark digit on a light background (MNIST digits are light on dark)."""
    return bool(_border(grayscale(image) if image.dim() == 3 else image).median() > 0.5)


def _border(gray: Tensor) -> Tensor:
    h, w = gray.shape
    m = max(1, min(h, w) // 10)
    return torch.cat([gray[:m].flatten(), gray[-m:].flatten(), gray[:, :m].flatten(), gray[:, -m:].flatten()])


def _mnist_input(gray: Tensor, size: tuple[int, int], invert: bool | None) -> Tensor:
    if invert if invert is not None else would_invert(gray):
        gray = 1 - gray
    if tuple(gray.shape) == size:
        return gray.clamp(0, 1).view(1, 1, *size).contiguous()
    background = _border(gray).median()
    gray = ((gray - background) / (gray.max() - background).clamp_min(1e-6)).clamp(0, 1)
    rows, cols = torch.nonzero(gray > 0.2, as_tuple=True)
    if len(rows):
        gray = gray[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = gray.shape
    scale = MNIST_BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    box = F.interpolate(gray.view(1, 1, h, w), size=(new_h, new_w), mode="bilinear", antialias=True,
                        align_corners=False)[0, 0].clamp(0, 1)
    return _centre_of_mass_paste(box, size).view(1, 1, *size)


def _centre_of_mass_paste(box: Tensor, size: tuple[int, int]) -> Tensor:
    """`box` pasted into a black image of `size` with its centre of mass at the centre (kept inside the frame)."""
    out = torch.zeros(size, dtype=box.dtype, device=box.device)
    h, w = box.shape
    mass = box.sum()
    if mass > 0:
        cy = float((box.sum(1) * torch.arange(h, dtype=box.dtype, device=box.device)).sum() / mass)
        cx = float((box.sum(0) * torch.arange(w, dtype=box.dtype, device=box.device)).sum() / mass)
    else:
        cy, cx = (h - 1) / 2, (w - 1) / 2
    top = min(max(round((size[0] - 1) / 2 - cy), 0), size[0] - h)
    left = min(max(round((size[1] - 1) / 2 - cx), 0), size[1] - w)
    out[top:top + h, left:left + w] = box
    return out
