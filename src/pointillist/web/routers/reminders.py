"""Aftercare and touch-up reminders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from pointillist.store import records
from pointillist.store import sessions as booking
from pointillist.store.models import Reminder
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import NOT_FOUND, BodyId, In, Out, PathId

router = APIRouter(prefix="/api/reminders", tags=["reminders"])


class ReminderOut(Out):
    id: int
    client_id: int
    session_id: int | None
    kind: str = Field(description="aftercare or touch-up.")
    due_on: date
    message: str
    sent_at: datetime | None = Field(description="When it went out; null if not yet.")
    created_at: datetime


class ReminderIn(In):
    client_id: BodyId
    kind: Literal["aftercare", "touch-up"]
    due_on: date
    message: str = Field(min_length=1, max_length=2000)
    session_id: BodyId | None = Field(default=None, description="The session it follows up.")


@router.get("", response_model=list[ReminderOut], summary="Due reminders")
def due_reminders(
    actor: CurrentActor,
    db: DbSession,
    due_by: Annotated[date | None, Query(description="Due on or before (default today).")] = None,
    include_sent: Annotated[bool, Query(description="Also those already sent.")] = False,
) -> list[Reminder]:
    """Reminders due by a day, unsent ones unless asked, by due date."""
    return booking.due_reminders(db, actor.scope, on_or_before=due_by, include_sent=include_sent)


@router.post(
    "", response_model=ReminderOut, status_code=201, summary="Add a reminder", responses=NOT_FOUND
)
def add_reminder(body: ReminderIn, actor: CurrentActor, db: DbSession) -> Reminder:
    """Schedule an aftercare or touch-up reminder for a client."""
    return booking.add_reminder(
        db,
        actor.scope,
        body.client_id,
        kind=body.kind,
        due_on=body.due_on,
        message=body.message,
        session_id=body.session_id,
    )


@router.get("/{reminder_id}", response_model=ReminderOut, summary="A reminder", responses=NOT_FOUND)
def get_reminder(reminder_id: PathId, actor: CurrentActor, db: DbSession) -> Reminder:
    """One reminder."""
    actor.scope.require("read_records")
    return records.scoped_get(db, actor.scope, Reminder, reminder_id)


@router.post(
    "/{reminder_id}/sent",
    response_model=ReminderOut,
    summary="Mark a reminder sent",
    responses=NOT_FOUND,
)
def mark_sent(reminder_id: PathId, actor: CurrentActor, db: DbSession) -> Reminder:
    """Record that the reminder went out (idempotent)."""
    return booking.mark_reminder_sent(db, actor.scope, reminder_id)
