"""The audit log: who read or changed which record, and when.

Entries hold identifiers and counts, never client data, so that they can outlive an
erased record: after an erasure the log still shows that the client existed, who erased
them and when, but not who they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pointillist.store.models import AuditEntry, utcnow
from pointillist.store.scope import Scope

ACTIONS = (
    "read",
    "list",
    "create",
    "update",
    "delete",
    "sign",
    "complete",
    "cancel",
    "recall",
    "export",
    "erase",
    "login",
    "login_failed",
)


def record(
    session: Session,
    scope: Scope,
    action: str,
    entity: str,
    entity_id: int | None = None,
    **detail: Any,
) -> AuditEntry:
    """Add an entry to the log in the caller's transaction (it commits with the change).

    ``detail`` must hold identifiers, field names or counts only, never personal data.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        clinic_id=scope.clinic_id,
        user_id=scope.user_id,
        actor=scope.actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail=detail,
        api_token_id=scope.api_token_id,
        # Now, not when the row is flushed: a read's entry is written a little later
        # (pointillist.store.reads), and its time must still be the read's.
        at=utcnow(),
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    scope: Scope,
    *,
    entity: str | None = None,
    entity_id: int | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """The clinic's log, newest first, optionally for one record (owners only)."""
    scope.require("read_audit")
    query = select(AuditEntry).where(AuditEntry.clinic_id == scope.clinic_id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(query))
