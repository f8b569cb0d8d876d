"""The audit log: who read or changed which record, when (owners)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from pointillist.store import audit
from pointillist.store.models import AuditEntry
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import MAX_ID, Out

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditOut(Out):
    id: int
    user_id: int | None
    actor: str = Field(description="The user's e-mail, or admin-cli.")
    action: str = Field(description="read, create, update, sign, complete, export, erase ...")
    entity: str = Field(description="Kind of record: client, consent, session ...")
    entity_id: int | None
    detail: dict[str, Any] = Field(description="Identifiers and counts; never client data.")
    at: datetime


@router.get("", response_model=list[AuditOut], summary="Read the audit log (owner)")
def list_entries(
    actor: CurrentActor,
    db: DbSession,
    entity: Annotated[str | None, Query(description="Only this kind of record.")] = None,
    entity_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this record.")
    ] = None,
    since: Annotated[datetime | None, Query(description="Only entries at or after.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntry]:
    """The clinic's log, newest first."""
    return audit.entries(
        db, actor.scope, entity=entity, entity_id=entity_id, since=since, limit=limit
    )
