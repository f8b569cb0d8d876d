"""Client photos: uploaded (size-limited, streamed), validated, stored without metadata.

Upload with ``multipart/form-data``. The body limit (``POINTILLIST_UPLOAD_MAX_BYTES``,
25 MB by default) is enforced while the body streams in: a request declaring a larger
``Content-Length`` is refused before a byte is read, and a chunked one is cut off at the
first chunk past the limit (413). The photo is then decoded by the simulator's safe
loader, re-encoded without EXIF/GPS and stored under its SHA-256.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import Field

from pointillist.errors import PointillistError
from pointillist.store import records
from pointillist.store.models import Photo
from pointillist.store.photos import PhotoStore
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import (
    MAX_ID,
    NOT_FOUND,
    In,
    Out,
    PathId,
    Problem,
    check_date,
)

router = APIRouter(tags=["photos"])

PhotoKind = Literal["front", "top", "left", "right", "back", "close-up"]
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": Problem, "description": "The upload is over the size limit."}
}


class PhotoOut(Out):
    id: int
    client_id: int
    session_id: int | None
    kind: str = Field(description="front, top, left, right, back or close-up.")
    sha256: str = Field(description="SHA-256 of the stored (metadata-free) file.")
    media_type: str
    width: int
    height: int
    byte_size: int
    marketing_consent: bool = Field(
        description="The client agreed to this photo being used in marketing (separate "
        "from treatment consent, GDPR art. 7 and 9)."
    )
    taken_at: datetime | None
    created_at: datetime


class PhotoPatch(In):
    marketing_consent: bool


def photo_store(request: Request) -> PhotoStore:
    store: PhotoStore = request.app.state.photo_store
    return store


@router.post(
    "/api/clients/{client_id}/photos",
    response_model=PhotoOut,
    status_code=201,
    summary="Upload a photo",
    responses={**NOT_FOUND, **TOO_LARGE},
)
def upload_photo(
    client_id: PathId,
    actor: CurrentActor,
    db: DbSession,
    request: Request,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or HEIC.")],
    kind: Annotated[PhotoKind, Form(description="Which view of the head.")],
    marketing_consent: Annotated[bool, Form()] = False,
    session_id: Annotated[
        int | None, Form(ge=1, le=MAX_ID, description="The session it belongs to.")
    ] = None,
    taken_at: Annotated[datetime | None, Form(description="When it was taken (ISO 8601).")] = None,
) -> Photo:
    """Store a photo of the client (clinical roles). EXIF, GPS and camera data are
    stripped; a file that is not a readable image, or has too many pixels, is refused
    (422, field ``file``)."""
    # A plain (threaded) endpoint: decoding a large photo must not block the event loop.
    # The sign-in check's transaction ends before decoding, and the record's begins after
    # it, so the database (one writer at a time on SQLite) is never held by a decode.
    if taken_at is not None:
        try:
            check_date(taken_at, not_after_today=True)
        except ValueError as exc:
            raise PointillistError(f"taken_at {exc}", field="taken_at") from None
    db.commit()
    store = photo_store(request)
    with request.app.state.decode_slots.slot():
        prepared = store.prepare(file.file.read())
    return records.add_photo(
        db,
        actor.scope,
        store,
        client_id,
        prepared,
        kind=kind,
        session_id=session_id,
        marketing_consent=marketing_consent,
        taken_at=taken_at,
    )


@router.get(
    "/api/clients/{client_id}/photos",
    response_model=list[PhotoOut],
    summary="A client's photos",
    responses=NOT_FOUND,
)
def list_photos(client_id: PathId, actor: CurrentActor, db: DbSession) -> list[Photo]:
    """Oldest first (clinical roles only)."""
    return records.list_for_client(db, actor.scope, Photo, client_id)


@router.get(
    "/api/photos/{photo_id}",
    response_model=PhotoOut,
    summary="A photo's record",
    responses=NOT_FOUND,
)
def get_photo(photo_id: PathId, actor: CurrentActor, db: DbSession) -> Photo:
    """The photo's record (clinical roles; audited)."""
    return records.get_clinical(db, actor.scope, Photo, photo_id)


@router.get(
    "/api/photos/{photo_id}/file",
    response_class=FileResponse,
    summary="A photo's image",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, **NOT_FOUND},
)
def get_photo_file(
    photo_id: PathId, actor: CurrentActor, db: DbSession, request: Request
) -> FileResponse:
    """The stored image, metadata-free (clinical roles; audited)."""
    photo = records.get_clinical(db, actor.scope, Photo, photo_id)
    path = photo_store(request).path_for(photo.sha256, photo.media_type)
    if not path.is_file():
        # The record is there but the file is not: an operator problem, say how to fix it.
        photo_store(request).read(photo.sha256, photo.media_type)
    return FileResponse(path, media_type=photo.media_type, headers={"Cache-Control": "no-store"})


@router.patch(
    "/api/photos/{photo_id}",
    response_model=PhotoOut,
    summary="Record marketing consent for a photo",
    responses=NOT_FOUND,
)
def update_photo(photo_id: PathId, body: PhotoPatch, actor: CurrentActor, db: DbSession) -> Photo:
    """Record the client's yes or no to using this photo in marketing."""
    return records.set_photo_marketing_consent(db, actor.scope, photo_id, body.marketing_consent)
