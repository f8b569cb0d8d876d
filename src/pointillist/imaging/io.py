"""Safe loading and saving of client photos.

A photo comes from a phone, a camera or an e-mail attachment, so anything can arrive:
rotated JPEGs, grey or 16-bit PNGs, CMYK scans, transparent WebPs, HEIC from iPhones,
truncated uploads, decompression bombs, or files that are not images at all. Loading
reads the header first and refuses early (before decoding) whatever the pipeline cannot
take, with a message that says what to do. Every image leaves the loader as 8-bit sRGB
``(H, W, 3)`` with its EXIF orientation applied; saved images carry no metadata at all
(no EXIF, no GPS, no camera serial), because client photos are health data.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pointillist.errors import PointillistError

MAX_MEGAPIXELS = 50.0
"""Largest photo accepted, in megapixels (a 48 MP phone sensor fits; scans of posters do not)."""

MAX_FILE_BYTES = 200 * 1024 * 1024
"""Largest file read at all: far above any 50 MP JPEG, PNG or HEIC."""

_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC"}
_SUPPORTED_TEXT = "JPEG, PNG, WebP or HEIC"


@dataclass(frozen=True)
class LoadedImage:
    """A decoded photo ready for the pipeline.

    Attributes
    ----------
    rgb
        ``(H, W, 3)`` uint8 sRGB pixels, EXIF orientation applied.
    format
        ``"JPEG"``, ``"PNG"``, ``"WebP"`` or ``"HEIC"``.
    source_mode
        The Pillow mode of the file before conversion (``"RGB"``, ``"L"``, ``"I;16"``,
        ``"CMYK"``, ``"RGBA"``...), so a report can say what was converted.
    exif_rotated
        Whether an EXIF orientation tag turned or mirrored the pixels.
    """

    rgb: np.ndarray
    format: str
    source_mode: str
    exif_rotated: bool

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


def _register_heif() -> bool:
    try:
        import pillow_heif  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def load_image(
    source: str | Path | bytes, *, max_megapixels: float = MAX_MEGAPIXELS
) -> LoadedImage:
    """Decode a client photo into 8-bit sRGB, refusing bad input before it costs time.

    Parameters
    ----------
    source
        A file path or the file's bytes (an upload).
    max_megapixels
        Refuse images with more pixels than this (checked from the header, before
        decoding, which also stops decompression bombs).

    Returns
    -------
    LoadedImage
        ``rgb`` is ``(H, W, 3)`` uint8 with EXIF orientation applied. Grey images are
        repeated on three channels, 16-bit images are scaled to 8 bits, CMYK is converted
        to RGB and transparent pixels are flattened on white.

    Raises
    ------
    PointillistError
        For a missing or unreadable file, a file that is not an image, a format other
        than JPEG/PNG/WebP/HEIC, an image over ``max_megapixels``, or truncated data.
    """
    name, image, fmt = _open_checked(source, max_megapixels)
    with image:
        source_mode = image.mode
        orientation = image.getexif().get(0x0112, 1)
        oriented = _decode(name, image)
        rgb = _to_rgb8(oriented)
    return LoadedImage(
        rgb=rgb, format=fmt, source_mode=source_mode, exif_rotated=orientation not in (1, None)
    )


@dataclass(frozen=True)
class StrippedJpeg:
    """A JPEG with its metadata removed and its coded pixels kept bit for bit.

    Attributes
    ----------
    data
        The file: the tables, frame and scans of the original, no APPn (EXIF, GPS, XMP,
        ICC, maker notes, thumbnails) or comment segments, nothing after the image.
    width, height
        Pixel size from the frame header.
    """

    data: bytes
    width: int
    height: int


#: Segments a stripped JPEG keeps: quantisation and Huffman tables, the restart interval
#: and the baseline, extended and progressive Huffman frames. Any other frame type
#: (lossless, hierarchical, arithmetic coding) goes through the decoder instead.
_JPEG_TABLES = frozenset({0xDB, 0xC4, 0xDD})
_JPEG_FRAMES = frozenset({0xC0, 0xC1, 0xC2})
_JPEG_SOS, _JPEG_EOI, _JPEG_APP14, _JPEG_COM = 0xDA, 0xD9, 0xEE, 0xFE
#: Where a scan's entropy-coded data ends: the first 0xFF that is not a stuffed zero byte,
#: a restart marker or a fill byte, i.e. the next segment's marker.
_JPEG_AFTER_SCAN = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")


def strip_jpeg(source: bytes, *, max_megapixels: float = MAX_MEGAPIXELS) -> StrippedJpeg | None:
    """Remove a JPEG's metadata without decoding and re-encoding its pixels.

    The header is checked as :func:`load_image` checks it (format, pixel count, pixels a
    file of this size can hold) before anything else. Every APPn segment (EXIF with GPS
    and camera serials, XMP, ICC, Photoshop blocks, embedded thumbnails) and every comment
    is dropped, and so is anything after the end of the image; Adobe's APP14, which says
    how the colour channels are coded, is kept. The result is then decoded at 1/8 scale,
    which reads every coded block (a truncated or garbled file is refused) at a fraction
    of a full decode's cost.

    Returns
    -------
    StrippedJpeg or None
        None when the photo needs the decoder: not a JPEG, not 8-bit colour (grey, CMYK),
        an EXIF orientation other than upright (the pixels must be turned, as
        :func:`load_image` does), or a coding other than Huffman baseline, extended or
        progressive.

    Raises
    ------
    PointillistError
        For the same bad input :func:`load_image` refuses.
    """
    name, image, fmt = _open_checked(source, max_megapixels)
    with image:
        plain = fmt == "JPEG" and image.mode == "RGB"
        if plain:
            plain = image.getexif().get(0x0112, 1) in (1, None)
        width, height = image.size
    if not plain:
        return None
    data = _jpeg_segments_without_metadata(bytes(source))
    if data is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as check:
            check.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            check.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PointillistError(
            f"{name}: the image data is damaged or truncated ({exc}); send the photo again"
        ) from None
    return StrippedJpeg(data=data, width=width, height=height)


def _jpeg_segments_without_metadata(data: bytes) -> bytes | None:
    """The JPEG ``data`` with only its tables, frame and scans; None if its structure is
    not one this function rewrites (the caller decodes it instead)."""
    if data[:2] != b"\xff\xd8":
        return None
    out = [b"\xff\xd8"]
    pos, end = 2, len(data)
    framed = scanned = False
    while pos + 2 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == _JPEG_EOI:
            if not scanned:
                return None
            out.append(b"\xff\xd9")
            return b"".join(out)
        if pos + 4 > end:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > end:
            return None
        segment = data[pos : pos + 2 + length]
        pos += 2 + length
        if marker in _JPEG_FRAMES:
            framed = True
            out.append(segment)
        elif marker in _JPEG_TABLES or (marker == _JPEG_APP14 and segment[4:9] == b"Adobe"):
            out.append(segment)
        elif 0xE0 <= marker <= 0xEF or marker == _JPEG_COM:
            continue  # metadata
        elif marker == _JPEG_SOS and framed:
            out.append(segment)
            following = _JPEG_AFTER_SCAN.search(data, pos)
            if following is None:
                return None  # cut short: no end-of-image marker
            out.append(data[pos : following.start()])
            pos = following.start()
            scanned = True
        else:
            return None
    return None


def load_mask(
    source: str | Path | bytes,
    *,
    image_size: tuple[int, int],
    max_megapixels: float = MAX_MEGAPIXELS,
) -> np.ndarray:
    """Read a treatment-area mask (white = treat) as a bool array of the photo's size.

    Any channel at 128 or more counts as painted, so a mask drawn in a colour works too.
    A mask of another size with the same aspect ratio is resized; any other shape is
    refused. Grey and palette files (what mask editors save) skip the colour conversion.
    """
    import cv2

    name, image, _fmt = _open_checked(source, max_megapixels)
    with image:
        oriented = _decode(name, image)
        if oriented.mode in ("1", "L", "P") and "transparency" not in oriented.info:
            grey = np.asarray(oriented.convert("L"), dtype=np.uint8)
        else:
            grey = np.asarray(_to_rgb8(oriented).max(axis=2), dtype=np.uint8)
    width, height = image_size
    if grey.shape != (height, width):
        mh, mw = grey.shape
        if abs(mw / mh - width / height) > 0.01:
            raise PointillistError(
                f"{name}: the mask is {mw}x{mh} but the photo is {width}x{height}; give a "
                "mask of the photo's size (white = treatment area, black = not)"
            )
        grey = np.asarray(cv2.resize(grey, (width, height), interpolation=cv2.INTER_LINEAR))
    mask = np.asarray(grey >= 128, dtype=bool)
    if not mask.any():
        raise PointillistError(f"{name}: the mask is all black; paint the treatment area white")
    return mask


def _open_checked(
    source: str | Path | bytes, max_megapixels: float
) -> tuple[str, Image.Image, str]:
    """Open an image and check its header (format, size) before anything is decoded."""
    name, data = _read_bytes(source)
    heif = False
    try:
        try:
            image = _open(data)
        except UnidentifiedImageError:
            # The HEIC opener is registered only when Pillow's own formats do not know
            # the file: importing it costs more than decoding a JPEG preview's header.
            heif = _register_heif()
            if not heif:
                raise
            image = _open(data)
    except UnidentifiedImageError:
        hint = "" if heif else " (HEIC needs the optional extra: pip install 'pointillist[heic]')"
        raise PointillistError(
            f"{name}: not an image file, or a format we do not read; "
            f"give a {_SUPPORTED_TEXT} photo{hint}"
        ) from None
    except Image.DecompressionBombError:
        raise PointillistError(
            f"{name}: the image declares more than {max_megapixels:g} megapixels; "
            "give a smaller photo (resize it to 50 MP or less)"
        ) from None
    except (ValueError, SyntaxError):
        # Pillow refuses text or colour-profile chunks that inflate past its limits
        # (zTXt/iCCP "metadata bombs") and malformed chunk structures with these.
        raise PointillistError(
            f"{name}: the image's metadata is oversized or malformed; "
            "export the photo again (or as a JPEG)"
        ) from None
    except OSError as exc:
        raise PointillistError(
            f"{name}: cannot read the image ({exc}); the file is damaged or truncated, "
            "send the photo again"
        ) from None
    fmt = _FORMATS.get(str(image.format))
    width, height = image.size
    megapixels = width * height / 1e6
    per_byte = _MAX_PIXELS_PER_BYTE.get(str(fmt))
    problem = None
    if fmt is None:
        problem = f"{image.format} images are not supported; give a {_SUPPORTED_TEXT} photo"
    elif megapixels > max_megapixels:
        problem = (
            f"the image is {width}x{height} ({megapixels:.1f} megapixels), over the "
            f"{max_megapixels:g} MP limit; resize it to {max_megapixels:g} MP or less"
        )
    elif width < 16 or height < 16:
        problem = f"the image is only {width}x{height} pixels; give a photo"
    elif per_byte is not None and width * height > len(data) * per_byte:
        problem = (
            f"the header says {width}x{height} pixels, more than a {len(data)}-byte {fmt} "
            "can hold; the file is damaged or cut short, send the photo again"
        )
    if problem is not None:
        image.close()
        raise PointillistError(f"{name}: {problem}")
    return name, image, str(fmt)


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow's own bomb warning/error fires at 89 MP; our limit is lower and checked
        # from the header by the caller, so its warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


def _decode(name: str, image: Image.Image) -> Image.Image:
    """Decode the pixels and apply the EXIF orientation."""
    try:
        # Pillow's default (ImageFile.LOAD_TRUNCATED_IMAGES off) makes truncated
        # files fail here rather than decode with a grey band.
        image.load()
        # In place: a copy of a 12 MP photo that needs no turn would cost as much again.
        ImageOps.exif_transpose(image, in_place=True)
        return image
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PointillistError(
            f"{name}: the image data is damaged or truncated ({exc}); send the photo again"
        ) from None


#: Fewest pixels a byte of each format can carry. JPEG codes every 8x8 block of the
#: luminance at least by one bit (its DC coefficient, even in a progressive scan), so a
#: file has at least one byte per 512 pixels; deflate (PNG) expands at most 1032-fold and a
#: PNG pixel holds at least one bit. A header claiming more pixels than that is forged or
#: the data is cut short; decoding it would spend memory on pixels that are not there.
_MAX_PIXELS_PER_BYTE = {"JPEG": 512, "PNG": 8 * 1032}


def _read_bytes(source: str | Path | bytes) -> tuple[str, bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = "uploaded image"
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise PointillistError(f"{name}: file not found; give the path of a photo")
        if not path.is_file():
            raise PointillistError(f"{name}: not a file; give the path of a photo")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PointillistError(
                f"{name}: the file is {size / 2**20:.0f} MB, too large for a photo; "
                "give a JPEG, PNG, WebP or HEIC of 50 MP or less"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PointillistError(f"{name}: cannot read the file ({exc.strerror})") from None
    if len(data) == 0:
        raise PointillistError(f"{name}: the file is empty; give a photo")
    return name, data


def _to_rgb8(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        wide = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or wide.max() > 255 else 255.0
        grey = np.clip(np.rint(wide * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode == "F":
        grey = np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255.0), 0, 255)
        return np.ascontiguousarray(np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2))
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {array.shape} {array.dtype}")
    return np.ascontiguousarray(array[:, :, :3])


def encode_jpeg(rgb: np.ndarray, *, quality: int = 92) -> bytes:
    """Encode an ``(H, W, 3)`` uint8 sRGB image as a JPEG with no metadata."""
    import cv2

    ok, buffer = cv2.imencode(
        ".jpg",
        cv2.cvtColor(_check_rgb(rgb), cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, int(quality)],
    )
    if not ok:
        raise PointillistError("cannot encode the image as JPEG")
    return buffer.tobytes()


def encode_png(rgb: np.ndarray, *, compression: int = 1) -> bytes:
    """Encode an ``(H, W, 3|4)`` uint8 image as a PNG with no metadata.

    Compression level 1 keeps a 12 MP overlay under half a second; level 9 would take
    several seconds for files barely smaller.
    """
    import cv2

    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3|4) uint8 image, got {array.shape} {array.dtype}")
    code = cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, buffer = cv2.imencode(
        ".png",
        cv2.cvtColor(np.ascontiguousarray(array), code),
        [cv2.IMWRITE_PNG_COMPRESSION, compression],
    )
    if not ok:
        raise PointillistError("cannot encode the image as PNG")
    return buffer.tobytes()


class ImageEncoder:
    """Encode images by their file name's suffix (``.jpg``, ``.png``) on threads.

    OpenCV's encoders release the GIL but each runs on one core, and a preview writes
    six images (a 12 MP overlay PNG alone takes most of a second), so they are encoded
    side by side on as many threads as there are cores, and the caller can go on with
    other work (composing the next image) while they run::

        with ImageEncoder() as encoder:
            encoder.submit("session_1.jpg", rgb)
            ...
            data = encoder.result("session_1.jpg")
    """

    def __init__(self) -> None:
        import os
        from concurrent.futures import Future, ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
        self._futures: dict[str, Future[bytes]] = {}

    def submit(self, name: str, rgb: np.ndarray) -> str:
        """Start encoding ``rgb`` as ``name`` says; returns ``name``."""
        suffix = Path(name).suffix.lower()
        if suffix in (".jpg", ".jpeg"):
            self._futures[name] = self._pool.submit(encode_jpeg, rgb)
        elif suffix == ".png":
            self._futures[name] = self._pool.submit(encode_png, rgb)
        else:
            raise PointillistError(f"{name}: save as .jpg or .png")
        return name

    def result(self, name: str) -> bytes:
        """The encoded bytes of ``name``, once they are ready."""
        return self._futures[name].result()

    def __enter__(self) -> ImageEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def save_image(path: str | Path, rgb: np.ndarray, *, quality: int = 92) -> Path:
    """Write ``rgb`` as JPEG (``.jpg``/``.jpeg``) or PNG (``.png``) with no metadata."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        data = encode_jpeg(rgb, quality=quality)
    elif suffix == ".png":
        data = encode_png(rgb)
    else:
        raise PointillistError(f"{target}: save as .jpg or .png")
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise PointillistError(f"{target}: cannot write the file ({exc.strerror})") from None
    return target
