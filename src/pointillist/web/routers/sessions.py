"""Sessions: booking (licence, opening hours, clashes), recording (lots, needle, zones) and
completion gates.

- A practitioner whose licence has expired by the session's day cannot be booked (409).
- A booking on a closed day, outside the clinic's opening hours, or overlapping another
  appointment of the same practitioner is refused (409, naming the clash).
- A bottle past its expiry date cannot be recorded on a session (409).
- A session cannot be completed without the client's signed consent and at least one
  pigment lot (409, the message lists what is missing; ``GET`` shows it in advance).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator, Field

from pointillist.domain.appointments import ClinicHours
from pointillist.store import clinic as clinics
from pointillist.store import sessions as booking
from pointillist.store.models import TreatmentSession
from pointillist.web.auth import Actor, CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import MAX_ID, NOT_FOUND, BodyId, In, Out, PathId, Problem
from pointillist.web.routers.bottles import BottleOut
from pointillist.web.routers.consultations import domain_policy

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


def _local_time(value: time) -> time:
    # Opening hours and appointments are the clinic's wall-clock times: a time with a
    # zone cannot be compared with them, so it is refused rather than guessed.
    if value.tzinfo is not None:
        raise ValueError("give the clinic's local time without a time zone, e.g. 14:30")
    return value


LocalTime = Annotated[time, AfterValidator(_local_time)]

GATE: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "description": "A rule of practice forbids it; the message says which and why.",
    }
}
Status = Literal["planned", "completed", "cancelled"]


class SessionOut(Out):
    id: int
    client_id: int
    practitioner_id: int
    plan_id: int | None
    scheduled_on: date
    start_time: time | None = Field(description="Local time the appointment starts.")
    duration_minutes: int | None
    zones: list[str] = Field(description="Scalp zones treated, e.g. hairline, crown.")
    needle: str | None = Field(description="Needle used, e.g. '1RL 0.25 mm'.")
    notes: str | None = Field(description="Clinical notes; null for front-desk staff.")
    status: str = Field(description="planned, completed or cancelled.")
    completed_at: datetime | None
    created_at: datetime
    bottles: list[BottleOut] = Field(description="Pigment bottles (lots) used.")
    completion_problems: list[str] = Field(
        default_factory=list,
        description="For a planned session: what still stops it from being completed.",
    )


class SessionIn(In):
    client_id: BodyId
    practitioner_id: BodyId = Field(description="Must hold a licence valid on scheduled_on.")
    scheduled_on: date
    start_time: LocalTime | None = Field(
        default=None, description="Local start time, within the clinic's opening hours."
    )
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    zones: list[str] = Field(default_factory=list)
    needle: str | None = Field(default=None, max_length=50, examples=["1RL 0.25 mm"])
    plan_id: BodyId | None = Field(default=None, description="The plan this session belongs to.")


class SessionPatch(In):
    scheduled_on: date | None = Field(default=None, description="Reschedule (planned only).")
    start_time: LocalTime | None = Field(default=None, description="Move to this start time.")
    practitioner_id: BodyId | None = Field(default=None, description="Reassign (planned only).")
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    zones: list[str] | None = None
    needle: str | None = Field(default=None, max_length=50)
    notes: str | None = Field(default=None, description="Stays editable after completion.")


class PlanBookingIn(In):
    practitioner_id: BodyId = Field(description="Who treats every session of the plan.")
    start_time: LocalTime = Field(description="Local start time of every session day.")


class BottlesIn(In):
    bottle_ids: list[BodyId] = Field(min_length=1, description="Bottles used in the session.")


def clinic_hours(request: Request, actor: Actor) -> ClinicHours:
    """The caller's clinic's opening hours (served policy and the clinic's settings)."""
    return clinics.opening_hours(actor.user.clinic, domain_policy(request))


def session_out(treated: TreatmentSession, actor: Actor, db: DbSession) -> SessionOut:
    """The session as the caller's role may see it, with what blocks its completion."""
    out = SessionOut.model_validate(treated)
    if not actor.scope.can("clinical"):
        out.notes = None
    if treated.status == "planned":
        out.completion_problems = booking.completion_problems(db, actor.scope, treated)
    return out


@router.post(
    "",
    response_model=SessionOut,
    status_code=201,
    summary="Book a session",
    responses={**NOT_FOUND, **GATE},
)
def book_session(
    body: SessionIn, actor: CurrentActor, db: DbSession, request: Request
) -> SessionOut:
    """Book a session; refused (409) if the practitioner's licence is missing or has
    expired by the session's day, if the day is closed or the time outside opening hours,
    or if it overlaps another appointment of the practitioner (the message names it)."""
    booked = booking.book_session(
        db,
        actor.scope,
        body.client_id,
        practitioner_id=body.practitioner_id,
        scheduled_on=body.scheduled_on,
        start_time=body.start_time,
        duration_minutes=body.duration_minutes,
        zones=body.zones,
        needle=body.needle,
        plan_id=body.plan_id,
        hours=clinic_hours(request, actor),
    )
    return session_out(booked, actor, db)


@router.post(
    "/book-plan/{plan_id}",
    response_model=list[SessionOut],
    status_code=201,
    summary="Book every session of a plan",
    responses={**NOT_FOUND, **GATE},
)
def book_plan(
    plan_id: PathId, body: PlanBookingIn, actor: CurrentActor, db: DbSession, request: Request
) -> list[SessionOut]:
    """Book each day of each session of a stored plan with one practitioner at one start
    time: all or nothing (409 naming the session, the day and the reason)."""
    booked = booking.book_plan(
        db,
        actor.scope,
        plan_id,
        practitioner_id=body.practitioner_id,
        start_time=body.start_time,
        hours=clinic_hours(request, actor),
    )
    return [session_out(s, actor, db) for s in booked]


@router.get("", response_model=list[SessionOut], summary="List sessions")
def list_sessions(
    actor: CurrentActor,
    db: DbSession,
    client_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    practitioner_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    start: Annotated[date | None, Query(description="On or after this day.")] = None,
    end: Annotated[date | None, Query(description="On or before this day.")] = None,
    status: Annotated[Status | None, Query()] = None,
) -> list[SessionOut]:
    """The clinic's sessions by date (the diary)."""
    found = booking.list_sessions(
        db,
        actor.scope,
        client_id=client_id,
        practitioner_id=practitioner_id,
        start=start,
        end=end,
        status=status,
    )
    return [session_out(s, actor, db) for s in found]


@router.get("/{session_id}", response_model=SessionOut, summary="A session", responses=NOT_FOUND)
def get_session(session_id: PathId, actor: CurrentActor, db: DbSession) -> SessionOut:
    """One session, with what still stops it from being completed (audited)."""
    return session_out(booking.get_session(db, actor.scope, session_id), actor, db)


@router.patch(
    "/{session_id}",
    response_model=SessionOut,
    summary="Reschedule or record a session",
    responses={**NOT_FOUND, **GATE},
)
def update_session(
    session_id: PathId, body: SessionPatch, actor: CurrentActor, db: DbSession, request: Request
) -> SessionOut:
    """Reschedule (day, time, practitioner: any role that books; the licence, opening hours
    and clashes are checked again)
    or record what was done (zones, needle, duration, notes: clinical roles). Only
    planned sessions change, except their notes."""
    sent = body.model_fields_set
    treated = booking.get_session(db, actor.scope, session_id)
    if sent & {"scheduled_on", "start_time", "practitioner_id"}:
        treated = booking.reschedule_session(
            db,
            actor.scope,
            session_id,
            scheduled_on=body.scheduled_on,
            start_time=body.start_time,
            practitioner_id=body.practitioner_id,
            hours=clinic_hours(request, actor),
        )
    if sent & {"zones", "needle", "notes", "duration_minutes"}:
        treated = booking.record_session_details(
            db,
            actor.scope,
            session_id,
            zones=body.zones,
            needle=body.needle,
            notes=body.notes,
            duration_minutes=body.duration_minutes,
        )
    return session_out(treated, actor, db)


@router.post(
    "/{session_id}/bottles",
    response_model=SessionOut,
    summary="Record the pigment bottles used",
    responses={**NOT_FOUND, **GATE},
)
def record_bottles(
    session_id: PathId, body: BottlesIn, actor: CurrentActor, db: DbSession
) -> SessionOut:
    """Add bottles (their lots) to a planned session; an expired bottle is refused (409)."""
    treated = booking.record_bottles(db, actor.scope, session_id, body.bottle_ids)
    return session_out(treated, actor, db)


@router.post(
    "/{session_id}/complete",
    response_model=SessionOut,
    summary="Mark a session complete",
    responses={**NOT_FOUND, **GATE},
)
def complete_session(session_id: PathId, actor: CurrentActor, db: DbSession) -> SessionOut:
    """Needs the client's signed treatment consent, at least one pigment lot and a
    practitioner licensed on the day; otherwise 409 listing what is missing."""
    return session_out(booking.complete_session(db, actor.scope, session_id), actor, db)


@router.post(
    "/{session_id}/cancel",
    response_model=SessionOut,
    summary="Cancel a session",
    responses={**NOT_FOUND, **GATE},
)
def cancel_session(session_id: PathId, actor: CurrentActor, db: DbSession) -> SessionOut:
    """Cancel a planned session; it stays in the record as cancelled."""
    return session_out(booking.cancel_session(db, actor.scope, session_id), actor, db)
