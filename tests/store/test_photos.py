import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from pointillist.errors import PointillistError
from pointillist.store.photos import PhotoStore


def _jpeg_with_exif(width=64, height=32) -> bytes:
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0xA431] = "SERIAL-123456"  # body serial number
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def test_exif_is_applied_then_stripped(photo_store):
    data = _jpeg_with_exif()
    assert b"SERIAL-123456" in data
    stored = photo_store.put(data)
    path = photo_store.path_for(stored.sha256, stored.media_type)
    kept = path.read_bytes()
    assert b"SERIAL-123456" not in kept and b"PhoneMaker" not in kept
    with Image.open(path) as image:
        assert not image.getexif()
        assert image.size == (32, 64)  # the orientation was applied to the pixels
    assert (stored.width, stored.height) == (32, 64)
    assert stored.media_type == "image/jpeg"
    assert hashlib.sha256(kept).hexdigest() == stored.sha256
    assert path.parent.name == stored.sha256[:2]


def test_png_stays_lossless_and_same_picture_is_stored_once(photo_store):
    pixels = np.arange(48 * 40 * 3, dtype=np.uint8).reshape(40, 48, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    first = photo_store.put(buffer.getvalue())
    second = photo_store.put(buffer.getvalue())
    assert first == second and first.media_type == "image/png"
    assert len(photo_store.files()) == 1
    with Image.open(io.BytesIO(photo_store.read(first.sha256, first.media_type))) as image:
        assert np.array_equal(np.asarray(image), pixels)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 not a photo" * 10, "not an image"),
        (b"x" * (3 * 1024 * 1024), "over the 2 MB limit"),
    ],
)
def test_bad_uploads_are_refused_with_a_message(photo_store, data, message):
    with pytest.raises(PointillistError, match=message) as caught:
        photo_store.put(data)
    assert caught.value.field == "file"
    assert photo_store.files() == []


def test_too_many_pixels_is_refused_before_decoding(photo_store):
    buffer = io.BytesIO()
    Image.new("L", (3000, 2000)).save(buffer, "PNG")  # 6 MP of zeros: a tiny file
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(PointillistError, match="megapixels"):
        photo_store.put(buffer.getvalue())


def test_truncated_jpeg_is_refused(photo_store):
    data = _jpeg_with_exif(256, 256)
    with pytest.raises(PointillistError, match="damaged or truncated"):
        photo_store.put(data[: len(data) // 2])


def test_store_settings_come_from_settings(tmp_path):
    from pointillist.settings import Settings

    store = PhotoStore.from_settings(Settings(data=tmp_path, upload_max_bytes=1234))
    assert store.root == tmp_path / "photos" and store.max_bytes == 1234


def _upright_jpeg_with_metadata(*, progressive: bool = False, restarts: bool = False) -> bytes:
    """A phone-like JPEG: EXIF with GPS and a serial, XMP, an ICC profile, a comment,
    upright (no orientation to apply), and bytes after the end of the image."""
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 255, (48, 80, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 1  # upright
    exif[0x010F] = "PhoneMaker"
    exif[0xA431] = "SERIAL-123456"
    exif.get_ifd(0x8825)[2] = (52.0, 22.0, 7.5)  # GPS latitude
    buffer = io.BytesIO()
    options = {"restart_marker_blocks": 2} if restarts else {}
    image.save(
        buffer,
        "JPEG",
        exif=exif.tobytes(),
        icc_profile=b"ICC-PROFILE-BYTES" * 4,
        comment=b"COMMENT-WITH-A-NAME",
        xmp=b"<x:xmpmeta>XMP-WHERE-TAKEN</x:xmpmeta>",
        progressive=progressive,
        quality=90,
        **options,
    )
    return buffer.getvalue() + b"TRAILER-AFTER-THE-IMAGE"


@pytest.mark.parametrize(
    ("progressive", "restarts"), [(False, False), (True, False), (False, True)]
)
def test_upright_jpeg_keeps_its_pixels_and_loses_every_metadata_segment(
    photo_store, progressive, restarts
):
    from pointillist.imaging.io import load_image

    data = _upright_jpeg_with_metadata(progressive=progressive, restarts=restarts)
    for secret in (b"SERIAL-123456", b"ICC-PROFILE", b"COMMENT-WITH", b"XMP-WHERE", b"TRAILER"):
        assert secret in data
    stored = photo_store.put(data)
    kept = photo_store.read(stored.sha256, stored.media_type)
    for secret in (b"SERIAL", b"PhoneMaker", b"ICC-PROFILE", b"COMMENT", b"XMP", b"TRAILER"):
        assert secret not in kept
    assert b"Exif" not in kept and b"JFIF" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert not image.getexif() and "icc_profile" not in image.info
    # The coded pixels are kept as they were: no second lossy encoding.
    assert np.array_equal(load_image(kept).rgb, load_image(data).rgb)
    assert (stored.width, stored.height, stored.media_type) == (80, 48, "image/jpeg")
    assert hashlib.sha256(kept).hexdigest() == stored.sha256


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_upright_jpeg_is_refused(photo_store, keep):
    data = _upright_jpeg_with_metadata()
    end_of_header = data.index(b"\xff\xda")
    cut = end_of_header + int((len(data) - end_of_header) * keep)
    with pytest.raises(PointillistError, match="damaged or truncated") as caught:
        photo_store.put(data[:cut])
    assert caught.value.field == "file"
    assert photo_store.files() == []


def test_grey_and_cmyk_jpegs_are_decoded_and_encoded_again(photo_store):
    for mode in ("L", "CMYK"):
        buffer = io.BytesIO()
        Image.new(mode, (40, 30)).save(buffer, "JPEG", comment=b"COMMENT-WITH-A-NAME")
        stored = photo_store.put(buffer.getvalue())
        kept = photo_store.read(stored.sha256, stored.media_type)
        assert b"COMMENT" not in kept
        with Image.open(io.BytesIO(kept)) as image:
            assert image.mode == "RGB" and image.size == (40, 30)
