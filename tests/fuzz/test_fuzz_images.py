"""1000 mutated image files (byte flips, truncations, chunk swaps of valid PNG, JPEG, WebP, GIF and TIFF files)
through the app's image loader: each loads as a valid image or raises `ImageError` with a message, within 2 s; no
other exception escapes. Seeded: a failure names the mutation, which reproduces it."""
from __future__ import annotations

import io
import random
import time

import numpy as np
import pytest
from PIL import Image

from alma.images import ImageError, load_image

MUTANTS = 1000
SEED = 16
SECONDS_EACH = 2.0
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # PIL warns about the damage it skips


def _seeds() -> dict[str, bytes]:
    """Small valid files of each format, with the features decoders branch on (alpha, palette, 16 bits, frames)."""
    rng = np.random.default_rng(SEED)
    rgb = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, (20, 18, 4), dtype=np.uint8))
    files = {}

    def save(name: str, image: Image.Image, fmt: str, **options) -> None:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        files[name] = buffer.getvalue()

    save("png-rgb", rgb, "PNG")
    save("png-rgba", rgba, "PNG")
    save("png-palette", rgb.convert("P"), "PNG")
    save("png-16bit", Image.fromarray(rng.integers(0, 65535, (16, 16), dtype=np.uint16)), "PNG")
    save("jpeg", rgb, "JPEG", quality=90)
    save("jpeg-progressive", rgb, "JPEG", progressive=True)
    save("webp-lossy", rgb, "WEBP", quality=80)
    save("webp-lossless", rgba, "WEBP", lossless=True)
    save("gif-animated", rgb.convert("P"), "GIF", save_all=True, append_images=[rgb.rotate(90).convert("P")])
    save("tiff-raw", rgb, "TIFF")
    save("tiff-lzw", rgba, "TIFF", compression="tiff_lzw")
    return files


def _mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(("flip", "flip", "truncate", "swap", "flip+truncate"))
    out = bytearray(data)
    if "flip" in kind:
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(out))
            out[position] = rng.choice((out[position] ^ (1 << rng.randrange(8)), rng.randrange(256), 0, 255))
    if "truncate" in kind:
        out = out[:rng.randrange(len(out))]
    if kind == "swap":  # two chunks of equal length exchange places
        size = rng.randint(1, max(1, len(out) // 4))
        a, b = sorted(rng.sample(range(len(out) - size + 1), 2)) if len(out) - size >= 1 else (0, 0)
        if b >= a + size:
            out[a:a + size], out[b:b + size] = out[b:b + size], out[a:a + size]
    return kind, bytes(out)


def test_the_seed_files_load() -> None:
    for name, data in _seeds().items():
        image = load_image(data)
        assert image.ndim == 3 and image.shape[0] == 3, name


def test_mutated_images_load_or_raise_our_error_in_time() -> None:
    seeds, rng = _seeds(), random.Random(SEED)
    names = sorted(seeds)
    escaped, slow, loaded, refused = [], [], 0, 0
    for index in range(MUTANTS):
        name = names[index % len(names)]
        kind, data = _mutate(seeds[name], rng)
        start = time.perf_counter()
        try:
            image = load_image(data)
        except ImageError as err:
            refused += 1
            assert str(err).strip(), f"mutant {index} ({name}, {kind}): an empty message"
        except Exception as err:  # noqa: BLE001 — anything else escaping the loader is the failure searched for
            escaped.append(f"mutant {index} ({name}, {kind}): {type(err).__name__}: {err}")
        else:
            loaded += 1
            assert image.dtype.is_floating_point and image.ndim == 3 and image.shape[0] == 3, (index, name, kind)
            assert bool(image.isfinite().all()) and 0 <= float(image.min()) <= float(image.max()) <= 1, (index, name)
        if (elapsed := time.perf_counter() - start) > SECONDS_EACH:
            slow.append(f"mutant {index} ({name}, {kind}): {elapsed:.2f} s")
    assert escaped == [], escaped[:10]
    assert slow == [], slow[:10]
    assert loaded > 50 and refused > 50, (loaded, refused)  # the mutations reach both outcomes


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP", b"II*\x00",
                                  b"\xff\xd8\xff", b"\x00" * 64])
def test_headers_alone_are_refused_with_a_message(data: bytes) -> None:
    with pytest.raises(ImageError, match="."):
        load_image(data)
