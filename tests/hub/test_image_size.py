"""Reading an image's size from the first bytes of its file (pure): PNG, GIF, JPEG (with its
EXIF rotation) and the three kinds of WebP. The JPEG and WebP fixtures were made by Chromium's
encoders (a 30 × 20 canvas), so they have what real files have: JFIF, an ICC profile, VP8X."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hub.files import SIZE_HEAD_BYTES, image_size
from tests.widget.support import png_bytes

IMAGES = Path(__file__).resolve().parents[1] / "fixtures" / "images"


def fixture(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def gif_bytes(width: int, height: int) -> bytes:
    # Header, logical screen descriptor (no colour table), trailer: enough for the size.
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b"\x3b"


def with_exif(jpeg: bytes, orientation: int, byte_order: bytes = b"MM") -> bytes:
    """``jpeg`` with an APP1 EXIF segment right after SOI saying ``orientation``."""
    e = "<" if byte_order == b"II" else ">"
    ifd = struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = byte_order + struct.pack(e + "HI", 42, 8) + ifd + struct.pack(e + "I", 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_png_and_gif() -> None:
    assert image_size("image/png", png_bytes(640, 480)) == (640, 480)
    assert image_size("image/gif", gif_bytes(1, 2000)) == (1, 2000)


def test_jpeg_from_a_real_encoder() -> None:
    assert image_size("image/jpeg", fixture("canvas.jpg")) == (30, 20)


@pytest.mark.parametrize("byte_order", [b"MM", b"II"])
def test_jpeg_turned_a_quarter_by_exif_is_measured_as_shown(byte_order: bytes) -> None:
    """A phone photo is stored sideways with an EXIF orientation; browsers show it turned
    (Chromium shows the 6 and 8 of these fixtures 20 × 30), so that is the size reserved."""
    jpeg = fixture("canvas.jpg")
    assert image_size("image/jpeg", with_exif(jpeg, 6, byte_order)) == (20, 30)
    assert image_size("image/jpeg", with_exif(jpeg, 8, byte_order)) == (20, 30)
    assert image_size("image/jpeg", with_exif(jpeg, 3, byte_order)) == (30, 20)  # upside down


def test_jpeg_with_broken_exif_still_has_its_frame_size() -> None:
    jpeg = fixture("canvas.jpg")
    payload = b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff"  # its IFD far past the end
    broken = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]
    assert image_size("image/jpeg", broken) == (30, 20)


def test_progressive_jpeg_frame() -> None:
    jpeg = fixture("canvas.jpg")
    at = jpeg.index(b"\xff\xc0")
    assert image_size("image/jpeg", jpeg[:at] + b"\xff\xc2" + jpeg[at + 2 :]) == (30, 20)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("extended.webp", b"VP8X"), ("lossy.webp", b"VP8 "), ("lossless.webp", b"VP8L")],
)
def test_webp_of_each_kind(name: str, kind: bytes) -> None:
    """VP8X (a canvas with an ICC profile, as Chromium writes), plain lossy VP8 and lossless
    VP8L (the same picture's bitstreams in a simple container)."""
    data = fixture(name)
    assert data[12:16] == kind
    assert image_size("image/webp", data) == (30, 20)


def test_a_head_cut_short_or_not_an_image_gives_no_size() -> None:
    jpeg = fixture("canvas.jpg")
    at = jpeg.index(b"\xff\xc0")
    assert image_size("image/jpeg", jpeg[: at + 6]) is None  # the frame header cut off
    assert image_size("image/png", png_bytes(4, 3)[:20]) is None
    assert image_size("image/webp", fixture("lossy.webp")[:27]) is None
    assert image_size("image/gif", b"GIF89a\x01") is None
    assert image_size("image/jpeg", b"") is None


def test_content_that_is_not_the_type_gives_no_size() -> None:
    assert image_size("image/jpeg", png_bytes(4, 3)) is None
    assert image_size("image/png", fixture("canvas.jpg")) is None
    assert image_size("image/webp", b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert image_size("application/pdf", b"%PDF-1.7") is None
    assert image_size("image/gif", gif_bytes(0, 10)) is None  # no pixels: no size


def test_jpeg_whose_scan_starts_before_any_frame_gives_no_size() -> None:
    assert image_size("image/jpeg", b"\xff\xd8\xff\xda\x00\x02" + b"\x00" * 10) is None
    assert image_size("image/jpeg", b"\xff\xd8\x00\x00\x00\x00") is None  # not a marker


def test_the_head_the_hub_reads_covers_a_large_profile() -> None:
    """A JPEG whose frame follows 200 KB of metadata is still measured from its head."""
    jpeg = fixture("canvas.jpg")
    padding = b"".join(b"\xff\xe2\xff\xfe" + b"\x00" * 0xFFFC for _ in range(3))
    padded = jpeg[:2] + padding + jpeg[2:]
    assert len(padding) > 190_000
    assert image_size("image/jpeg", padded[:SIZE_HEAD_BYTES]) == (30, 20)
