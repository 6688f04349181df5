"""The bad-input matrix of `load_image`: each file loads with the right pixels, or raises ImageError saying why."""
from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin

from alma.images import MAX_BYTES, ImageError, load_image


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces width×height 8-bit grayscale pixels, with a tiny (not decodable) image payload."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) \
        + png_chunk(b"IEND", b"")


def png_bomb(width: int, height: int) -> bytes:
    """A valid all-black grayscale PNG: a few hundred kB that decode to width·height bytes."""
    compressor, row = zlib.compressobj(9), b"\0" * (width + 1)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def rgb_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(array.astype(np.uint8), "RGB")


def colours(height: int = 6, width: int = 8) -> np.ndarray:
    """Deterministic RGB test pattern."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def as_hwc(tensor: torch.Tensor) -> np.ndarray:
    assert tensor.dtype == torch.float32 and tensor.dim() == 3 and tensor.shape[0] == 3
    assert 0 <= float(tensor.min()) and float(tensor.max()) <= 1
    return tensor.permute(1, 2, 0).numpy()


# --- files that must be rejected ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"Hello, this is a text file.\nNot an image at all.\n", "not an image in a supported format"),
    (np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "not an image in a supported format"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image in a supported format"),
    (encode(Image.new("RGB", (8, 8)), "PPM"), "not an image in a supported format"),
], ids=["zero-bytes", "text", "random-bytes", "png-signature-garbage", "ppm-not-allowed"])
def test_rejects_non_images(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_truncated_png_is_reported_as_damaged() -> None:
    data = encode(rgb_image(np.random.default_rng(2).integers(0, 256, (64, 64, 3))), "PNG")
    with pytest.raises(ImageError, match="PNG file is damaged or incomplete"):
        load_image(data[: len(data) // 2])


def test_huge_dimensions_rejected_before_decoding() -> None:
    with pytest.raises(ImageError, match="too many pixels"):  # 400 megapixels: PIL's own bomb error
        load_image(png_header_only(20000, 20000))
    with pytest.raises(ImageError, match="8000×8000 pixels, more than the limit of 40 megapixels"):
        load_image(png_header_only(8000, 8000))


def test_decompression_bomb_rejected() -> None:
    bomb = png_bomb(12000, 12000)  # 144 megapixels: above PIL's warning threshold, below its error threshold
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(bomb)


def test_compressed_text_chunk_bomb_rejected() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "A" * 20_000_000, zip=True)
    data = encode(Image.new("L", (4, 4)), "PNG", pnginfo=info)
    with pytest.raises(ImageError, match="could not be read|damaged"):
        load_image(data)


def test_byte_limit_for_bytes_and_files() -> None:
    big = os.urandom(MAX_BYTES + 1)
    with pytest.raises(ImageError, match="larger than the limit of 20 MB"):
        load_image(big)
    with pytest.raises(ImageError, match="larger than the limit of 20 MB"):
        load_image(io.BytesIO(big))
    small = encode(Image.new("RGB", (40, 40)), "PNG")
    with pytest.raises(ImageError, match="larger than the limit"):
        load_image(small, max_bytes=len(small) - 1)


def test_rejects_a_path_string() -> None:
    with pytest.raises(ImageError, match="Expected the bytes of an image file, got str"):
        load_image("photo.png")  # type: ignore[arg-type]


# --- files that must load with the right pixels ------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_formats_exact(fmt: str) -> None:
    array = colours()
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    out = as_hwc(load_image(encode(rgb_image(array), fmt, **kwargs)))
    np.testing.assert_allclose(out, array / 255, atol=1e-6)


def test_file_object_input() -> None:
    array = colours()
    out = as_hwc(load_image(io.BytesIO(encode(rgb_image(array), "PNG"))))
    np.testing.assert_allclose(out, array / 255, atol=1e-6)


def test_one_pixel() -> None:
    out = load_image(encode(rgb_image(np.array([[[10, 200, 30]]])), "PNG"))
    assert out.shape == (3, 1, 1)
    np.testing.assert_allclose(out[:, 0, 0].numpy(), np.array([10, 200, 30]) / 255, atol=1e-6)


def test_jpeg_close_to_source() -> None:
    array = np.zeros((32, 32, 3), np.uint8)
    array[:, :16] = (200, 40, 40)
    array[:, 16:] = (30, 60, 220)
    out = as_hwc(load_image(encode(rgb_image(array), "JPEG", quality=95)))
    assert np.abs(out[4:-4, 2:12] - array[4:-4, 2:12] / 255).max() < 0.04
    assert np.abs(out[4:-4, 20:30] - array[4:-4, 20:30] / 255).max() < 0.04


def test_cmyk_jpeg_converted_to_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    out = as_hwc(load_image(encode(cmyk, "JPEG", quality=100)))
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), [1, 0, 0], atol=0.02)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grayscale_keeps_precision(fmt: str) -> None:
    values = np.array([[0, 1000, 32768], [65535, 12345, 257]], dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    out = load_image(encode(image, fmt))
    assert out.shape == (3, 2, 3)
    for channel in out:
        np.testing.assert_allclose(channel.numpy(), values / 65535, atol=1e-6)
    assert out[0, 0, 1] != out[0, 1, 2]  # 1000 and 257 differ in 16 bits, although both are ≈ 4/255 and 1/255


def test_mode_i_tiff_read_as_16_bit() -> None:
    values = np.array([[0, 40000], [65535, 5]], dtype=np.int32)
    image = Image.fromarray(values, "I")
    assert Image.open(io.BytesIO(encode(image, "TIFF"))).mode == "I"
    out = load_image(encode(image, "TIFF"))
    np.testing.assert_allclose(out[1].numpy(), values / 65535, atol=1e-6)


def test_grayscale_replicated() -> None:
    values = np.array([[0, 128], [255, 7]], dtype=np.uint8)
    out = load_image(encode(Image.fromarray(values, "L"), "PNG"))
    for channel in out:
        np.testing.assert_allclose(channel.numpy(), values / 255, atol=1e-6)


def test_bilevel() -> None:
    image = Image.new("1", (3, 1), 0)
    image.putpixel((1, 0), 1)
    out = load_image(encode(image, "PNG"))
    np.testing.assert_allclose(out[:, 0, :].numpy(), [[0, 1, 0]] * 3, atol=1e-6)


def test_la_composited_on_white() -> None:
    la = Image.fromarray(np.array([[[0, 255], [0, 128], [0, 0], [200, 64]]], dtype=np.uint8), "LA")
    out = load_image(encode(la, "PNG"))
    expected = [0, 1 - 128 / 255, 1, (200 * 64 + 255 * (255 - 64)) / 255 ** 2]
    for channel in out:
        np.testing.assert_allclose(channel[0].numpy(), expected, atol=1e-6)


def test_rgba_composited_on_white() -> None:
    rgba = np.array([[[255, 0, 0, 255], [255, 0, 0, 0], [0, 0, 255, 128]]], dtype=np.uint8)
    out = as_hwc(load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG")))
    a = 128 / 255
    np.testing.assert_allclose(out[0], [[1, 0, 0], [1, 1, 1], [1 - a, 1 - a, 1]], atol=1e-6)


def test_palette_with_transparency() -> None:
    image = Image.new("P", (3, 1))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    for x, index in enumerate((0, 1, 2)):
        image.putpixel((x, 0), index)
    plain = as_hwc(load_image(encode(image, "PNG")))
    np.testing.assert_allclose(plain[0], np.eye(3), atol=1e-6)
    transparent = as_hwc(load_image(encode(image, "PNG", transparency=1)))  # green is the transparent index
    np.testing.assert_allclose(transparent[0], [[1, 0, 0], [1, 1, 1], [0, 0, 1]], atol=1e-6)


def test_animated_gif_gives_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    out = as_hwc(load_image(data))
    np.testing.assert_allclose(out.reshape(-1, 3), np.tile([1, 0, 0], (64, 1)), atol=1e-6)


def test_animated_webp_gives_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((0, 0, 255), (255, 0, 0))]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=100)
    out = as_hwc(load_image(data))
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), [0, 0, 1], atol=1e-6)


def test_exif_rotated_jpeg_is_turned_upright() -> None:
    array = np.zeros((16, 32, 3), np.uint8)  # stored: 32 wide, 16 high; top half red, bottom half blue
    array[:8] = (255, 0, 0)
    array[8:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: show the stored image rotated 90° clockwise
    out = as_hwc(load_image(encode(rgb_image(array), "JPEG", quality=95, exif=exif.tobytes())))
    assert out.shape == (32, 16, 3)  # upright: 16 wide, 32 high
    np.testing.assert_allclose(out[4:-4, 1:6].reshape(-1, 3).mean(0), [0, 0, 1], atol=0.05)  # left: was bottom
    np.testing.assert_allclose(out[4:-4, 10:15].reshape(-1, 3).mean(0), [1, 0, 0], atol=0.05)  # right: was top
