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
