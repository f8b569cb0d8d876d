"""Photo files that no record refers to: found at server start, removed by ``admin fsck``.

Every photo and simulation output is written under a temporary name and takes its real
name only when its row commits, so none should exist; a crash between the two steps, a
restore of an older database over newer photos, or a file copied in by hand can still
leave some. They are health data that no export shows and no erasure reaches, so they
are reported at start and removed on request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pointillist.store.models import Photo, Simulation
from pointillist.store.photos import PhotoStore

#: A temporary file younger than this may belong to an upload in progress.
TEMPORARY_GRACE_S = 3600


@dataclass
class FsckReport:
    """Files in the photo store that no record refers to.

    Attributes
    ----------
    unreferenced
        Photo files whose digest no photo or simulation names.
    temporaries
        Temporary files older than an hour (an upload that never finished).
    removed
        How many of both were removed (``remove=True`` only).
    """

    unreferenced: list[Path] = field(default_factory=list)
    temporaries: list[Path] = field(default_factory=list)
    removed: int = 0

    @property
    def clean(self) -> bool:
        """True when nothing is left over."""
        return not self.unreferenced and not self.temporaries


def _referenced(session: Session) -> set[str]:
    digests = set(session.scalars(select(Photo.sha256)))
    for outputs in session.scalars(select(Simulation.outputs)):
        digests.update(str(o["sha256"]) for o in outputs)
    return digests


def check_photo_store(
    session: Session, photos: PhotoStore, *, remove: bool = False, now: float | None = None
) -> FsckReport:
    """Find (and with ``remove``, delete) photo files no record refers to.

    The files are listed before the records are read: a photo committed in between is
    then already referenced, never taken for an orphan. Each file is checked once more
    just before it is removed, in case an upload of the same picture claimed it.
    """
    files = photos.files()
    cutoff = (time.time() if now is None else now) - TEMPORARY_GRACE_S
    temporaries = [p for p in photos.temporaries() if p.stat().st_mtime < cutoff]
    referenced = _referenced(session)
    report = FsckReport(
        unreferenced=[p for p in files if p.stem not in referenced],
        temporaries=temporaries,
    )
    if remove:
        for path in report.unreferenced:
            if path.stem not in _referenced_one(session, path.stem):
                path.unlink(missing_ok=True)
                report.removed += 1
        for path in report.temporaries:
            path.unlink(missing_ok=True)
            report.removed += 1
    return report


def _referenced_one(session: Session, digest: str) -> set[str]:
    if session.scalar(select(Photo.id).where(Photo.sha256 == digest).limit(1)) is not None:
        return {digest}
    return _referenced(session) & {digest}
