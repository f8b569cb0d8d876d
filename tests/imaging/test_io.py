"""Safe loading: every format and mode the pipeline takes, every input it must refuse."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from pointillist.errors import PointillistError
from pointillist.imaging.io import encode_jpeg, encode_png, load_image, save_image


def _bytes(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _halves(width: int = 40, height: int = 20) -> Image.Image:
    """Red left half, blue right half: orientation is visible in the pixels."""
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 2] = (255, 0, 0)
    array[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(array)


def test_jpeg_png_webp_load_as_rgb8(tmp_path):
    image = _halves()
    for fmt, suffix in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")):
        path = tmp_path / f"photo.{suffix}"
        path.write_bytes(_bytes(image, fmt, quality=95) if fmt != "PNG" else _bytes(image, fmt))
        loaded = load_image(path)
        assert loaded.rgb.shape == (20, 40, 3)
        assert loaded.rgb.dtype == np.uint8
        assert loaded.rgb[10, 5, 0] > 200 and loaded.rgb[10, 35, 2] > 200
        assert loaded.format in ("JPEG", "PNG", "WebP")


def test_bytes_are_accepted():
    loaded = load_image(_bytes(_halves(), "PNG"))
    assert loaded.rgb.shape == (20, 40, 3)


def test_exif_orientation_is_applied():
    image = _halves()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    loaded = load_image(_bytes(image, "JPEG", exif=exif.tobytes(), quality=95))
    assert loaded.exif_rotated
    assert loaded.rgb.shape == (40, 20, 3)
    # Turned clockwise, the red left half ends up on top.
    assert loaded.rgb[5, 10, 0] > 200 and loaded.rgb[35, 10, 2] > 200


def test_outputs_carry_no_metadata(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    src = load_image(_bytes(_halves(), "JPEG", exif=exif.tobytes())).rgb
    for data in (encode_jpeg(src), encode_png(src)):
        reopened = Image.open(io.BytesIO(data))
        assert len(reopened.getexif()) == 0
        assert "exif" not in reopened.info
    path = save_image(tmp_path / "out.jpg", src)
    assert b"Exif" not in path.read_bytes()[:200]
    assert b"PhoneMaker" not in path.read_bytes()


def test_grey_becomes_three_equal_channels():
    grey = Image.fromarray(np.full((20, 30), 77, np.uint8), mode="L")
    rgb = load_image(_bytes(grey, "PNG")).rgb
    assert rgb.shape == (20, 30, 3)
    assert (rgb == 77).all()


def test_sixteen_bit_is_scaled_to_eight():
    wide = np.zeros((20, 30), np.uint16)
    wide[:, :10] = 65535
    wide[:, 10:20] = 32896
    loaded = load_image(_bytes(Image.fromarray(wide), "PNG"))
    assert loaded.source_mode.startswith("I")
    assert loaded.rgb[0, 0].tolist() == [255, 255, 255]
    assert loaded.rgb[0, 15].tolist() == [128, 128, 128]
    assert loaded.rgb[0, 25].tolist() == [0, 0, 0]


def test_cmyk_is_converted():
    cmyk = Image.new("CMYK", (30, 20), (0, 255, 255, 0))  # pure red ink mix
    loaded = load_image(_bytes(cmyk, "JPEG", quality=95))
    assert loaded.source_mode == "CMYK"
    r, g, b = loaded.rgb[10, 15].tolist()
    assert r > 200 and g < 60 and b < 60


def test_alpha_is_flattened_on_white():
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[:, :15] = (10, 20, 30, 255)
    rgba[:, 15:] = (10, 20, 30, 0)
    rgb = load_image(_bytes(Image.fromarray(rgba, "RGBA"), "PNG")).rgb
    assert rgb[5, 5].tolist() == [10, 20, 30]
    assert rgb[5, 25].tolist() == [255, 255, 255]


def test_palette_image_loads():
    pal = _halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    assert load_image(_bytes(pal, "PNG")).rgb.shape == (20, 40, 3)


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` (its data is not that big)."""
    data = bytearray(_bytes(Image.new("RGB", (16, 16)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def test_over_fifty_megapixels_is_refused_from_the_header():
    with pytest.raises(PointillistError, match=r"51\.0 megapixels.*50 MP"):
        load_image(_png_declaring(8500, 6000))


def test_decompression_bomb_is_refused():
    with pytest.raises(PointillistError, match="megapixels"):
        load_image(_png_declaring(100_000, 100_000))


def test_truncated_jpeg_is_refused(astronaut):
    data = encode_jpeg(astronaut)
    with pytest.raises(PointillistError, match="damaged or truncated"):
        load_image(data[: len(data) // 2])


def test_not_an_image_is_refused(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is a letter, not a photo")
    with pytest.raises(PointillistError, match="not an image"):
        load_image(path)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_refused_with_the_list(fmt):
    with pytest.raises(PointillistError, match="JPEG, PNG, WebP or HEIC"):
        load_image(_bytes(_halves(), fmt))


def test_missing_empty_and_directory(tmp_path):
    with pytest.raises(PointillistError, match="file not found"):
        load_image(tmp_path / "nope.jpg")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(PointillistError, match="empty"):
        load_image(empty)
    with pytest.raises(PointillistError, match="not a file"):
        load_image(tmp_path)


def test_tiny_image_is_refused():
    with pytest.raises(PointillistError, match="only 4x4"):
        load_image(_bytes(Image.new("RGB", (4, 4)), "PNG"))


def test_heic_when_pillow_heif_is_installed():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    loaded = load_image(_bytes(_halves(64, 32), "HEIF", quality=95))
    assert loaded.format == "HEIC"
    assert loaded.rgb.shape == (32, 64, 3)


def test_save_refuses_unknown_suffix(tmp_path):
    with pytest.raises(PointillistError, match=r"\.jpg or \.png"):
        save_image(tmp_path / "x.gif", np.zeros((4, 4, 3), np.uint8))


def test_sixteen_bit_colour_png():
    import cv2

    bgr = np.zeros((20, 30, 3), np.uint16)
    bgr[:, :10, 2] = 65535  # red
    bgr[:, 10:20, 1] = 32896  # half green
    ok, buffer = cv2.imencode(".png", bgr)
    assert ok
    rgb = load_image(buffer.tobytes()).rgb
    assert rgb[0, 0].tolist() == [255, 0, 0]
    assert rgb[0, 15].tolist() == [0, 128, 0]


def _png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    """A small valid PNG with one extra chunk placed before its image data."""
    data = _bytes(Image.new("RGB", (32, 32), (120, 90, 80)), "PNG")
    chunk = struct.pack(">I", len(payload)) + kind + payload
    chunk += struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    return data[:33] + chunk + data[33:]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * 50_000_000, 9)),
        (b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * 50_000_000, 9)),
    ],
)
def test_png_metadata_bombs_are_refused_in_one_line(kind, payload):
    # A few kB of chunk inflating to 50 MB of text or colour profile: was a 500.
    with pytest.raises(PointillistError, match="metadata is oversized or malformed"):
        load_image(_png_with_chunk(kind, payload))


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims ``width`` x ``height`` pixels."""
    data = bytearray(_bytes(Image.new("RGB", (64, 64), (120, 90, 80)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_a_header_claiming_more_pixels_than_the_file_holds_is_refused_before_decoding():
    # 7000 x 7000 fits the 50 MP limit, but a 1 kB file cannot hold it: Pillow would
    # decode 147 MB of grey ("premature end of data") and the store would keep it.
    with pytest.raises(PointillistError, match=r"more than a \d+-byte JPEG can hold"):
        load_image(_jpeg_declaring(7000, 7000))
    assert load_image(_jpeg_declaring(64, 64)).width == 64
