"""Clients: their details, and the export (zip) and erasure of their whole record."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, Field

from pointillist.store import export, records
from pointillist.store.accounts import EMAIL_HINT, is_email_address
from pointillist.store.models import Client
from pointillist.web.auth import Actor, CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import MAX_ID, NOT_FOUND, In, Out, PathId, refuse_null

router = APIRouter(prefix="/api/clients", tags=["clients"])


def _email_address(value: str | None) -> str | None:
    if value is not None and not is_email_address(value):
        raise ValueError(f"{value!r} is not an e-mail address: {EMAIL_HINT}")
    return value


EmailAddress = Annotated[str | None, AfterValidator(_email_address)]


class ClientOut(Out):
    id: int
    name: str
    date_of_birth: date | None
    email: str | None
    phone: str | None
    notes: str | None = Field(
        description="Clinical notes; null for roles without access to clinical information."
    )
    created_at: datetime
    updated_at: datetime


class ClientIn(In):
    name: str = Field(min_length=1, max_length=200)
    date_of_birth: date | None = None
    email: EmailAddress = Field(default=None, max_length=320, examples=["sam@example.com"])
    phone: str | None = Field(default=None, max_length=50)
    notes: str = Field(default="", description="Clinical notes (owner and practitioner only).")


class ClientPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    date_of_birth: date | None = None
    email: EmailAddress = Field(default=None, max_length=320, examples=["sam@example.com"])
    phone: str | None = Field(default=None, max_length=50)
    notes: str | None = Field(default=None, description="Clinical notes (owner and practitioner).")

    _not_null = refuse_null("name", "notes")


class ErasureOut(Out):
    client_id: int
    deleted: dict[str, int] = Field(description="Rows deleted, per table.")
    files_deleted_on_commit: int = Field(description="Photo and simulation files removed.")
    retention_ends_on: date = Field(description="When the retention period (records.toml) ends.")
    within_retention: bool = Field(
        description="True if erased before the retention period ended: check no legal duty "
        "to keep the record applied (GDPR art. 17(3)(b))."
    )


def client_out(client: Client, actor: Actor) -> ClientOut:
    """The client as the caller's role may see it (notes only for clinical roles)."""
    out = ClientOut.model_validate(client)
    if not actor.scope.can("clinical"):
        out.notes = None
    return out


@router.get("", response_model=list[ClientOut], summary="List or search clients")
def list_clients(
    actor: CurrentActor,
    db: DbSession,
    search: Annotated[
        str | None, Query(max_length=200, description="Part of the name, e-mail or phone.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[ClientOut]:
    """The clinic's clients by name."""
    found = records.list_clients(db, actor.scope, search=search, limit=limit, offset=offset)
    return [client_out(c, actor) for c in found]


@router.post("", response_model=ClientOut, status_code=201, summary="Add a client")
def create_client(body: ClientIn, actor: CurrentActor, db: DbSession) -> ClientOut:
    """Open a client's record. Front-desk staff may not write notes."""
    return client_out(records.create_client(db, actor.scope, **body.model_dump()), actor)


@router.get("/{client_id}", response_model=ClientOut, summary="A client", responses=NOT_FOUND)
def get_client(client_id: PathId, actor: CurrentActor, db: DbSession) -> ClientOut:
    """One client (the read is written to the audit log)."""
    return client_out(records.get_client(db, actor.scope, client_id), actor)


@router.patch(
    "/{client_id}", response_model=ClientOut, summary="Change a client", responses=NOT_FOUND
)
def update_client(
    client_id: PathId, body: ClientPatch, actor: CurrentActor, db: DbSession
) -> ClientOut:
    """Change the fields sent; notes need a clinical role."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    return client_out(records.update_client(db, actor.scope, client_id, **changes), actor)


@router.get(
    "/{client_id}/export",
    summary="Export a client's record (owner)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "client.json plus photos."},
        **NOT_FOUND,
    },
)
def export_client(
    client_id: PathId, actor: CurrentActor, db: DbSession, request: Request
) -> StreamingResponse:
    """Everything kept about the client as one zip: ``client.json`` (every record) and
    the photo and simulation files (GDPR art. 15 and 20). The export is audited."""
    # Spooled: small exports stay in memory, large ones (many photos) go to a temp file.
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    try:
        export.export_client(db, actor.scope, request.app.state.photo_store, client_id, spool)
        db.commit()
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    return StreamingResponse(
        _chunks(spool),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="client-{client_id}.zip"',
            "Content-Length": str(size),
        },
    )


def _chunks(spool: IO[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(size):
            yield chunk


@router.delete(
    "/{client_id}",
    response_model=ErasureOut,
    summary="Erase a client's record (owner)",
    responses=NOT_FOUND,
)
def erase_client(client_id: PathId, actor: CurrentActor, db: DbSession, request: Request) -> Any:
    """Delete every record and file of the client (GDPR art. 17). The audit log keeps
    that the erasure happened, by whom and when, with counts, but nothing about the client.
    Export first if the client wants a copy."""
    return export.erase_client(db, actor.scope, request.app.state.photo_store, client_id)
