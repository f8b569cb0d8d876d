"""Content-addressed photo files under the data directory, metadata stripped.

Every photo's header is checked first (format, pixel count, pixels the file can hold).
An upright colour JPEG, what phones send, keeps its coded pixels and loses every metadata
segment (:func:`pointillist.imaging.io.strip_jpeg`, then decoded at 1/8 scale to refuse
truncated data). Anything else is decoded by the simulator's safe loader
(:func:`pointillist.imaging.io.load_image`: truncation and decompression-bomb checks,
EXIF orientation applied) and re-encoded without any metadata. Either way nothing of
EXIF, GPS or camera serials is kept, and the file is stored under the SHA-256 of the
stored bytes: ``photos/ab/abcdef....jpg``. The same picture uploaded twice
is stored once; a file is removed only when no record refers to it any more.

A file that belongs to a database row is written under a temporary name first and moved
into place only when the row's transaction commits (``put(..., on_commit_of=session)``):
a failed or rolled-back request leaves no health data behind that no record knows of.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from pointillist.errors import PointillistError
from pointillist.settings import Settings

log = logging.getLogger(__name__)

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
JPEG_QUALITY = 95
"""Re-encoding quality: visually lossless for skin texture at the cost of ~2x the size of q85."""


@dataclass(frozen=True)
class StoredPhoto:
    """What the store kept: the file's digest, type, pixel size and byte size."""

    sha256: str
    media_type: str
    width: int
    height: int
    byte_size: int
    source_format: str


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo validated and re-encoded without metadata, not yet written to the store."""

    stored: StoredPhoto
    encoded: bytes

    @property
    def sha256(self) -> str:
        return self.stored.sha256

    @property
    def media_type(self) -> str:
        return self.stored.media_type


class PhotoStore:
    """Photo files in ``root``, named by their SHA-256.

    Parameters
    ----------
    root
        Directory of the store (``Settings.photo_dir``); created on first write.
    max_bytes
        Largest upload accepted.
    max_megapixels
        Largest image accepted, checked from the header before decoding.
    """

    def __init__(self, root: Path, *, max_bytes: int, max_megapixels: float) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_megapixels = max_megapixels

    @classmethod
    def from_settings(cls, settings: Settings) -> PhotoStore:
        """The store configured by :class:`pointillist.settings.Settings`."""
        return cls(
            settings.photo_dir,
            max_bytes=settings.upload_max_bytes,
            max_megapixels=settings.photo_max_pixels / 1e6,
        )

    def put(
        self,
        data: bytes | PreparedPhoto,
        *,
        name: str = "the photo",
        on_commit_of: Session | None = None,
    ) -> StoredPhoto:
        """Validate, strip and store a photo (or one :meth:`prepare` made); return what
        was stored.

        With ``on_commit_of``, the file takes its name only when that session commits, and
        is removed if it rolls back.

        Raises
        ------
        PointillistError
            Too large, not an image, an unsupported format, damaged, or too many pixels.
        """
        prepared = data if isinstance(data, PreparedPhoto) else self.prepare(data, name=name)
        path = self.path_for(prepared.sha256, prepared.media_type)
        if on_commit_of is None:
            self._write(path, prepared.encoded)
        elif not path.exists():
            self._stage(on_commit_of, path, prepared.encoded)
        return prepared.stored

    def prepare(self, data: bytes, *, name: str = "the photo") -> PreparedPhoto:
        """Validate, decode and re-encode a photo without metadata, storing nothing yet.

        The costly half of :meth:`put`, so that a server can do it before its database
        transaction begins. PNG stays PNG (lossless); JPEG, WebP and HEIC become JPEG.
        """
        from pointillist.imaging.io import encode_jpeg, encode_png, load_image, strip_jpeg

        if len(data) > self.max_bytes:
            raise PointillistError(
                f"{name} is {len(data) / 2**20:.1f} MB, over the {self.max_bytes / 2**20:.0f} MB "
                "limit; send a smaller photo",
                field="file",
            )
        try:
            # An upright colour JPEG keeps its coded pixels (no second lossy encoding, and
            # a fraction of the CPU); anything else is decoded and encoded again.
            stripped = strip_jpeg(data, max_megapixels=self.max_megapixels)
            image = None if stripped else load_image(data, max_megapixels=self.max_megapixels)
        except PointillistError as exc:
            raise PointillistError(
                exc.message.replace("uploaded image", name, 1), field="file"
            ) from None
        if stripped is not None:
            return _prepared(stripped.data, "image/jpeg", stripped.width, stripped.height, "JPEG")
        assert image is not None
        if image.format == "PNG":
            encoded, media_type = encode_png(image.rgb), "image/png"
        else:
            encoded, media_type = encode_jpeg(image.rgb, quality=JPEG_QUALITY), "image/jpeg"
        return _prepared(encoded, media_type, image.width, image.height, image.format)

    def path_for(self, sha256: str, media_type: str) -> Path:
        """Where the file with this digest and type lives (whether or not it exists)."""
        if not _DIGEST.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.{_EXTENSIONS[media_type]}"

    def read(self, sha256: str, media_type: str) -> bytes:
        """The stored bytes."""
        path = self.path_for(sha256, media_type)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            # The path is for the operator's log; the caller (maybe a web client) only
            # learns which file and what to do.
            log.error("photo file missing: %s", path)
            raise PointillistError(
                f"photo file {path.name} is missing from the photo store; restore it from a backup"
            ) from None

    def delete(self, sha256: str, media_type: str) -> bool:
        """Remove a file (callers check no record still refers to it); False if absent."""
        try:
            self.path_for(sha256, media_type).unlink()
        except FileNotFoundError:
            return False
        return True

    def files(self) -> list[Path]:
        """Every stored file."""
        if not self.root.is_dir():
            return []
        return sorted(
            p for p in self.root.glob("??/*") if p.is_file() and not p.name.startswith(".")
        )

    def temporaries(self) -> list[Path]:
        """Files being written, or left half-written by a crash (hidden: ``.upload-*``)."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("??/.upload-*") if p.is_file())

    def _write(self, path: Path, data: bytes) -> None:
        if path.exists():
            return
        tmp = self._write_temporary(path, data)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            log.error("cannot move photo file into place %s: %s", path, exc)
            raise PointillistError(
                f"cannot store the photo ({exc.strerror}); the server log names the file"
            ) from None

    def _write_temporary(self, path: Path, data: bytes) -> Path:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.parent.mkdir(mode=0o700, exist_ok=True)
            # Write then rename: a crash never leaves a half file under a valid digest.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            log.error("cannot write photo file %s: %s", path, exc)
            raise PointillistError(
                f"cannot store the photo ({exc.strerror}); the server log names the file"
            ) from None
        return Path(tmp)

    def _stage(self, session: Session, path: Path, data: bytes) -> None:
        tmp = self._write_temporary(path, data)

        def on_commit(_session: Session) -> None:
            os.replace(tmp, path)

        def on_rollback(_session: Session) -> None:
            tmp.unlink(missing_ok=True)
            # Whichever comes first ends the other's purpose.
            if event.contains(session, "after_commit", on_commit):
                event.remove(session, "after_commit", on_commit)

        event.listen(session, "after_commit", on_commit, once=True)
        event.listen(session, "after_rollback", on_rollback, once=True)


def _prepared(
    encoded: bytes, media_type: str, width: int, height: int, source_format: str
) -> PreparedPhoto:
    stored = StoredPhoto(
        sha256=hashlib.sha256(encoded).hexdigest(),
        media_type=media_type,
        width=width,
        height=height,
        byte_size=len(encoded),
        source_format=source_format,
    )
    return PreparedPhoto(stored=stored, encoded=encoded)
