"""Sessions, pigment bottles, the gates between them, lot recall and reminders.

The gates (REFERENCE.md section 6, ``records.toml``):

- a practitioner whose licence has expired by the day of a session cannot be booked for it;
- a bottle past its expiry date cannot be recorded (on a session, or added to stock);
- a session cannot be completed without the client's signed consent and at least one
  pigment lot, so that every completed session can answer a recall (REACH Annex XVII
  entry 75 puts a batch number on every ink).

Completing a session schedules its follow-ups: an aftercare reminder for the next day and
a touch-up reminder (``plan.toml``'s years after the client's latest session).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pointillist.data import load_table
from pointillist.domain.appointments import (
    ClinicHours,
    occupied_minutes,
    opening_problem,
    overlaps,
    span_text,
)
from pointillist.errors import PointillistError
from pointillist.store import audit
from pointillist.store.clinic import require_licensed
from pointillist.store.errors import Conflict, GateClosed
from pointillist.store.models import (
    REMINDER_KINDS,
    Client,
    PigmentBottle,
    Practitioner,
    Reminder,
    TreatmentPlan,
    TreatmentSession,
    session_bottles,
    utcnow,
)
from pointillist.store.records import has_signed_consent, scoped_get
from pointillist.store.scope import Scope

# --- pigment bottles -------------------------------------------------------------------


def add_bottle(
    session: Session,
    scope: Scope,
    *,
    brand: str,
    shade: str,
    lot: str,
    expires_on: date,
    opened_on: date | None = None,
    today: date | None = None,
) -> PigmentBottle:
    """Add a bottle to stock; an expired bottle is refused."""
    scope.require("manage_stock")
    today = today or date.today()
    for field, value in (("brand", brand), ("shade", shade), ("lot", lot)):
        if not value.strip():
            raise PointillistError(f"give the bottle's {field} (it is on the label)", field=field)
    if expires_on < today:
        raise GateClosed(
            f"this bottle expired on {expires_on.isoformat()}; discard it, do not record it",
            field="expires_on",
        )
    if opened_on is not None and opened_on > today:
        raise PointillistError("the opening date is in the future", field="opened_on")
    bottle = PigmentBottle(
        clinic_id=scope.clinic_id,
        brand=brand.strip(),
        shade=shade.strip(),
        lot=lot.strip(),
        expires_on=expires_on,
        opened_on=opened_on,
    )
    session.add(bottle)
    session.flush()
    audit.record(session, scope, "create", "pigment_bottle", bottle.id)
    return bottle


def list_bottles(
    session: Session, scope: Scope, *, lot: str | None = None, usable_on: date | None = None
) -> list[PigmentBottle]:
    """The clinic's bottles, optionally of one lot or those not expired on a day."""
    scope.require("read_records")
    query = select(PigmentBottle).where(PigmentBottle.clinic_id == scope.clinic_id)
    if lot is not None:
        query = query.where(PigmentBottle.lot == lot.strip())
    if usable_on is not None:
        query = query.where(PigmentBottle.expires_on >= usable_on)
    return list(session.scalars(query.order_by(PigmentBottle.id)))


def get_bottle(session: Session, scope: Scope, bottle_id: int) -> PigmentBottle:
    """A bottle of the clinic."""
    scope.require("read_records")
    return scoped_get(session, scope, PigmentBottle, bottle_id)


# --- sessions --------------------------------------------------------------------------


def book_session(
    session: Session,
    scope: Scope,
    client_id: int,
    *,
    practitioner_id: int,
    scheduled_on: date,
    start_time: time | None = None,
    duration_minutes: int | None = None,
    zones: Sequence[str] = (),
    needle: str | None = None,
    plan_id: int | None = None,
    hours: ClinicHours | None = None,
) -> TreatmentSession:
    """Book a session (an appointment).

    Refused if the practitioner's licence has expired by that day, if the practitioner
    already has an appointment that overlaps it (the message names the clash), and, when
    the clinic's ``hours`` are given, if it falls on a closed day or outside opening hours.
    """
    scope.require("book_sessions")
    scoped_get(session, scope, Client, client_id)
    practitioner = scoped_get(session, scope, Practitioner, practitioner_id)
    require_licensed(practitioner, scheduled_on)
    if plan_id is not None:
        plan = scoped_get(session, scope, TreatmentPlan, plan_id)
        if plan.client_id != client_id:
            raise PointillistError(f"plan {plan_id} belongs to another client", field="plan_id")
    _check_duration(duration_minutes)
    _check_slot(session, scope, practitioner, scheduled_on, start_time, duration_minutes, hours)
    booked = TreatmentSession(
        clinic_id=scope.clinic_id,
        client_id=client_id,
        practitioner_id=practitioner_id,
        plan_id=plan_id,
        scheduled_on=scheduled_on,
        start_time=start_time,
        duration_minutes=duration_minutes,
        zones=list(zones),
        needle=needle,
        notes="",
        status="planned",
    )
    session.add(booked)
    session.flush()
    audit.record(session, scope, "create", "session", booked.id, client_id=client_id)
    return booked


def book_plan(
    session: Session,
    scope: Scope,
    plan_id: int,
    *,
    practitioner_id: int,
    start_time: time,
    hours: ClinicHours | None = None,
) -> list[TreatmentSession]:
    """Book every session of a stored plan in one step, all or none.

    Each day in the plan snapshot's ``sessions[].days`` becomes one appointment with
    ``practitioner_id`` at ``start_time`` for that day's minutes (a session split over two
    days gets two appointments), treating the plan's zones. Every appointment passes the
    same checks as :func:`book_session` (licence, clashes, opening hours); the first that
    fails raises, naming the plan session and day, and nothing is booked (the caller's
    transaction rolls back). A plan with no sessions (declined, or deferred with no date)
    is refused.

    Returns the appointments in date order.
    """
    scope.require("book_sessions")
    plan = scoped_get(session, scope, TreatmentPlan, plan_id)
    planned = plan.snapshot.get("sessions") or []
    if not planned:
        why = plan.snapshot.get("start_note") or "the screening allowed none"
        raise GateClosed(
            f"plan {plan_id} has no sessions to book ({why}); make a new plan when the "
            "client can be treated",
            field="plan_id",
        )
    zones = [zone["key"] for zone in (plan.snapshot.get("area") or {}).get("zones", [])]
    booked = []
    for planned_session in planned:
        for day in planned_session["days"]:
            on = date.fromisoformat(day["date"])
            try:
                booked.append(
                    book_session(
                        session,
                        scope,
                        plan.client_id,
                        practitioner_id=practitioner_id,
                        scheduled_on=on,
                        start_time=start_time,
                        duration_minutes=int(day["minutes"]),
                        zones=zones,
                        plan_id=plan.id,
                        hours=hours,
                    )
                )
            except PointillistError as exc:
                raise type(exc)(
                    f"session {planned_session['number']} of the plan ({on.isoformat()}) "
                    f"cannot be booked: {exc.message}; nothing was booked",
                    field=exc.field,
                ) from None
    return booked


def _check_slot(
    session: Session,
    scope: Scope,
    practitioner: Practitioner,
    day: date,
    start: time | None,
    minutes: int | None,
    hours: ClinicHours | None,
    *,
    moving: int | None = None,
) -> None:
    """Refuse a closed day, a time outside opening hours, or a clash with the practitioner's
    other appointments that day (``moving``: the session being rescheduled, not a clash)."""
    if hours is not None:
        problem = opening_problem(hours, day, start, minutes)
        if problem is not None:
            field = "start_time" if hours.is_open(day) else "scheduled_on"
            raise GateClosed(problem, field=field)
    wanted = occupied_minutes(start, minutes, hours)
    query = (
        select(TreatmentSession, Client)
        .join(Client, Client.id == TreatmentSession.client_id)
        .where(
            TreatmentSession.clinic_id == scope.clinic_id,
            TreatmentSession.practitioner_id == practitioner.id,
            TreatmentSession.scheduled_on == day,
            TreatmentSession.status != "cancelled",
        )
        .order_by(TreatmentSession.start_time, TreatmentSession.id)
    )
    if moving is not None:
        query = query.where(TreatmentSession.id != moving)
    for other, client in session.execute(query):
        taken = occupied_minutes(other.start_time, other.duration_minutes, hours)
        if overlaps(wanted, taken):
            raise Conflict(
                f"{practitioner.name} is already booked on {day.isoformat()} "
                f"{span_text(taken)} (session {other.id}, {client.name}), which overlaps "
                f"{span_text(wanted)}; choose another time or practitioner",
                field="start_time",
            )


def get_session(session: Session, scope: Scope, session_id: int) -> TreatmentSession:
    """A session of the clinic (audited read)."""
    scope.require("read_records")
    return scoped_get(session, scope, TreatmentSession, session_id, audit_read=True)


def list_sessions(
    session: Session,
    scope: Scope,
    *,
    client_id: int | None = None,
    practitioner_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    status: str | None = None,
) -> list[TreatmentSession]:
    """The clinic's sessions by date, filtered by client, practitioner, dates or status."""
    scope.require("read_records")
    query = select(TreatmentSession).where(TreatmentSession.clinic_id == scope.clinic_id)
    if client_id is not None:
        query = query.where(TreatmentSession.client_id == client_id)
    if practitioner_id is not None:
        query = query.where(TreatmentSession.practitioner_id == practitioner_id)
    if start is not None:
        query = query.where(TreatmentSession.scheduled_on >= start)
    if end is not None:
        query = query.where(TreatmentSession.scheduled_on <= end)
    if status is not None:
        query = query.where(TreatmentSession.status == status)
    query = query.order_by(TreatmentSession.scheduled_on, TreatmentSession.id)
    found = list(session.scalars(query))
    filters = {"client_id": client_id, "practitioner_id": practitioner_id}
    audit.record(
        session,
        scope,
        "list",
        "session",
        None,
        count=len(found),
        **{k: v for k, v in filters.items() if v is not None},
    )
    return found


def practitioner_diary(
    session: Session, scope: Scope, practitioner_id: int, start: date, end: date
) -> list[tuple[TreatmentSession, str]]:
    """A practitioner's booked and completed appointments from ``start`` to ``end``
    (inclusive), each with its client's name: what a calendar shows (cancelled left out)."""
    scope.require("read_records")
    scoped_get(session, scope, Practitioner, practitioner_id)
    query = (
        select(TreatmentSession, Client)
        .join(Client, Client.id == TreatmentSession.client_id)
        .where(
            TreatmentSession.clinic_id == scope.clinic_id,
            TreatmentSession.practitioner_id == practitioner_id,
            TreatmentSession.scheduled_on >= start,
            TreatmentSession.scheduled_on <= end,
            TreatmentSession.status != "cancelled",
        )
        .order_by(TreatmentSession.scheduled_on, TreatmentSession.start_time, TreatmentSession.id)
    )
    return [(treated, client.name) for treated, client in session.execute(query)]


def reschedule_session(
    session: Session,
    scope: Scope,
    session_id: int,
    *,
    scheduled_on: date | None = None,
    start_time: time | None = None,
    practitioner_id: int | None = None,
    duration_minutes: int | None = None,
    hours: ClinicHours | None = None,
) -> TreatmentSession:
    """Move a planned session to another day, time or practitioner (the licence, clashes
    and, with ``hours``, opening hours are checked again)."""
    scope.require("book_sessions")
    booked = _planned(session, scope, session_id)
    practitioner = booked.practitioner
    if practitioner_id is not None:
        practitioner = scoped_get(session, scope, Practitioner, practitioner_id)
    day = scheduled_on or booked.scheduled_on
    start = start_time or booked.start_time
    require_licensed(practitioner, day)
    _check_duration(duration_minutes)
    minutes = duration_minutes or booked.duration_minutes
    _check_slot(session, scope, practitioner, day, start, minutes, hours, moving=booked.id)
    booked.scheduled_on = day
    booked.start_time = start
    booked.practitioner_id = practitioner.id
    if duration_minutes is not None:
        booked.duration_minutes = duration_minutes
    audit.record(session, scope, "update", "session", booked.id, fields=["schedule"])
    return booked


def record_session_details(
    session: Session,
    scope: Scope,
    session_id: int,
    *,
    zones: Sequence[str] | None = None,
    needle: str | None = None,
    notes: str | None = None,
    duration_minutes: int | None = None,
) -> TreatmentSession:
    """Record what was done: zones, needle (e.g. ``1RL 0.25 mm``), notes, duration.

    Notes stay editable after completion (a late observation); the rest is fixed then.
    """
    scope.require("record_sessions")
    treated = scoped_get(session, scope, TreatmentSession, session_id)
    fields = []
    if any(v is not None for v in (zones, needle, duration_minutes)):
        treated = _planned(session, scope, session_id)
    if zones is not None:
        treated.zones = list(zones)
        fields.append("zones")
    if needle is not None:
        treated.needle = needle.strip() or None
        fields.append("needle")
    if duration_minutes is not None:
        _check_duration(duration_minutes)
        treated.duration_minutes = duration_minutes
        fields.append("duration_minutes")
    if notes is not None:
        treated.notes = notes
        fields.append("notes")
    audit.record(session, scope, "update", "session", treated.id, fields=fields)
    return treated


def record_bottles(
    session: Session, scope: Scope, session_id: int, bottle_ids: Iterable[int]
) -> TreatmentSession:
    """Record the pigment bottles used in a session; an expired bottle is refused."""
    scope.require("record_sessions")
    treated = _planned(session, scope, session_id)
    added = []
    for bottle_id in bottle_ids:
        bottle = scoped_get(session, scope, PigmentBottle, bottle_id)
        if bottle.expires_on < treated.scheduled_on:
            raise GateClosed(
                f"bottle {bottle.id} ({bottle.brand} {bottle.shade}, lot {bottle.lot}) expired on "
                f"{bottle.expires_on.isoformat()}, before the session on "
                f"{treated.scheduled_on.isoformat()}; discard it and record a bottle in date",
                field="bottle_ids",
            )
        if bottle not in treated.bottles:
            treated.bottles.append(bottle)
            added.append(bottle.id)
    session.flush()
    audit.record(session, scope, "update", "session", treated.id, bottles_added=added)
    return treated


def completion_problems(session: Session, scope: Scope, treated: TreatmentSession) -> list[str]:
    """Everything that stops ``treated`` from being marked complete (empty if nothing)."""
    problems = []
    policy = scope.policy
    if not has_signed_consent(session, scope, treated.client_id, policy.required_consent):
        problems.append(
            f"the client has not signed the {policy.required_consent!r} consent; "
            "have them sign it first"
        )
    if len(treated.bottles) < policy.min_pigment_lots:
        problems.append(
            "no pigment lot is recorded for this session; record the bottles used "
            "(their lots answer a recall)"
        )
    return problems


def complete_session(
    session: Session, scope: Scope, session_id: int, *, today: date | None = None
) -> TreatmentSession:
    """Mark a session done: needs a signed consent, a pigment lot and a licensed practitioner,
    on or after the day it was booked for."""
    scope.require("record_sessions")
    treated = _planned(session, scope, session_id)
    today = today or date.today()
    if treated.scheduled_on > today:
        raise GateClosed(
            f"session {session_id} is booked for {treated.scheduled_on.isoformat()}; it can be "
            "completed on that day or later (reschedule it if it took place earlier)"
        )
    problems = completion_problems(session, scope, treated)
    if problems:
        raise GateClosed(f"session {session_id} cannot be completed: " + "; ".join(problems))
    require_licensed(treated.practitioner, treated.scheduled_on)
    treated.status = "completed"
    treated.completed_at = utcnow()
    audit.record(session, scope, "complete", "session", treated.id, client_id=treated.client_id)
    _schedule_follow_ups(session, scope, treated)
    return treated


def _schedule_follow_ups(session: Session, scope: Scope, treated: TreatmentSession) -> None:
    """The timed messages clinics send after a session: aftercare the next day, and a
    touch-up reminder (replacing any earlier unsent one) years after this latest session.

    Periods come from ``aftercare.toml`` (after each session) and ``plan.toml`` (touch-up).
    """
    day = treated.scheduled_on
    lines = [f"Aftercare after your session on {day.isoformat()}:"]
    for rule in load_table("aftercare")["after_each_session"]:
        until = day + timedelta(days=int(rule["days"]))
        lines.append(
            f"- until {until.isoformat()}, avoid {', '.join(rule['avoid'])}. {rule['advice']}"
        )
    aftercare = add_reminder(
        session,
        scope,
        treated.client_id,
        kind="aftercare",
        due_on=day + timedelta(days=1),
        message="\n".join(lines),
        session_id=treated.id,
    )
    years = float(load_table("plan")["touch_up"]["years_after_last_session"])
    session.execute(
        delete(Reminder).where(
            Reminder.clinic_id == scope.clinic_id,
            Reminder.client_id == treated.client_id,
            Reminder.kind == "touch-up",
            Reminder.sent_at.is_(None),
            Reminder.id != aftercare.id,
        ),
        execution_options={"synchronize_session": "fetch"},
    )
    add_reminder(
        session,
        scope,
        treated.client_id,
        kind="touch-up",
        due_on=day + timedelta(days=round(years * 365.25)),
        message=(
            f"Your last scalp micropigmentation session was on {day.isoformat()}. Pigment "
            f"softens over the years; a touch-up about every {years:g} years keeps the "
            "result crisp. Book your touch-up."
        ),
        session_id=treated.id,
    )


def cancel_session(session: Session, scope: Scope, session_id: int) -> TreatmentSession:
    """Cancel a planned session (kept in the record, with its status)."""
    scope.require("book_sessions")
    treated = _planned(session, scope, session_id)
    treated.status = "cancelled"
    audit.record(session, scope, "cancel", "session", treated.id)
    return treated


def _planned(session: Session, scope: Scope, session_id: int) -> TreatmentSession:
    treated = scoped_get(session, scope, TreatmentSession, session_id)
    if treated.status != "planned":
        raise GateClosed(f"session {session_id} is {treated.status}; it can no longer be changed")
    return treated


def _check_duration(duration_minutes: int | None) -> None:
    if duration_minutes is not None and duration_minutes <= 0:
        raise PointillistError(
            "the duration must be a positive number of minutes", field="duration_minutes"
        )


# --- lot recall ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecallHit:
    """One session in which a recalled lot was used, and whom to contact."""

    client_id: int
    client_name: str
    client_email: str | None
    client_phone: str | None
    session_id: int
    scheduled_on: date
    status: str
    bottle_id: int
    brand: str
    shade: str
    lot: str


def recall_lot(
    session: Session, scope: Scope, lot: str, *, brand: str | None = None
) -> list[RecallHit]:
    """Every client and session of the clinic that received pigment from ``lot``.

    Cancelled sessions are left out (no pigment went in); planned ones are included so
    that the clinic can swap the bottle before the day.
    """
    scope.require("recall")
    lot = lot.strip()
    if not lot:
        raise PointillistError("give the lot (batch) number from the recall notice", field="lot")
    query = (
        select(TreatmentSession, Client, PigmentBottle)
        .join(session_bottles, session_bottles.c.session_id == TreatmentSession.id)
        .join(PigmentBottle, PigmentBottle.id == session_bottles.c.bottle_id)
        .join(Client, Client.id == TreatmentSession.client_id)
        .where(
            TreatmentSession.clinic_id == scope.clinic_id,
            PigmentBottle.clinic_id == scope.clinic_id,
            func.lower(PigmentBottle.lot) == lot.lower(),
            TreatmentSession.status != "cancelled",
        )
        .order_by(TreatmentSession.scheduled_on, TreatmentSession.id)
    )
    if brand is not None:
        query = query.where(func.lower(PigmentBottle.brand) == brand.strip().lower())
    hits = [
        RecallHit(
            client_id=client.id,
            client_name=client.name,
            client_email=client.email,
            client_phone=client.phone,
            session_id=treated.id,
            scheduled_on=treated.scheduled_on,
            status=treated.status,
            bottle_id=bottle.id,
            brand=bottle.brand,
            shade=bottle.shade,
            lot=bottle.lot,
        )
        for treated, client, bottle in session.execute(query)
    ]
    # By client name (encrypted: sorted here, not by the database), then date.
    hits.sort(key=lambda hit: (hit.client_name, hit.scheduled_on, hit.session_id))
    audit.record(
        session,
        scope,
        "recall",
        "pigment_lot",
        None,
        lot=lot,
        sessions=len(hits),
        clients=len({hit.client_id for hit in hits}),
    )
    return hits


# --- reminders -------------------------------------------------------------------------


def add_reminder(
    session: Session,
    scope: Scope,
    client_id: int,
    *,
    kind: str,
    due_on: date,
    message: str,
    session_id: int | None = None,
) -> Reminder:
    """Schedule an aftercare or touch-up reminder for a client."""
    scope.require("manage_reminders")
    if kind not in REMINDER_KINDS:
        raise PointillistError(
            f"reminder kind {kind!r} is unknown; use one of {', '.join(REMINDER_KINDS)}",
            field="kind",
        )
    if not message.strip():
        raise PointillistError("give the reminder's message", field="message")
    scoped_get(session, scope, Client, client_id)
    if session_id is not None:
        treated = scoped_get(session, scope, TreatmentSession, session_id)
        if treated.client_id != client_id:
            raise PointillistError(
                f"session {session_id} belongs to another client", field="session_id"
            )
    reminder = Reminder(
        clinic_id=scope.clinic_id,
        client_id=client_id,
        session_id=session_id,
        kind=kind,
        due_on=due_on,
        message=message.strip(),
    )
    session.add(reminder)
    session.flush()
    audit.record(session, scope, "create", "reminder", reminder.id, client_id=client_id)
    return reminder


def due_reminders(
    session: Session, scope: Scope, *, on_or_before: date | None = None, include_sent: bool = False
) -> list[Reminder]:
    """Reminders due by a day (today by default), unsent ones unless asked."""
    scope.require("read_records")
    day = on_or_before or date.today()
    query = select(Reminder).where(Reminder.clinic_id == scope.clinic_id, Reminder.due_on <= day)
    if not include_sent:
        query = query.where(Reminder.sent_at.is_(None))
    found = list(session.scalars(query.order_by(Reminder.due_on, Reminder.id)))
    audit.record(session, scope, "list", "reminder", None, count=len(found))
    return found


def mark_reminder_sent(session: Session, scope: Scope, reminder_id: int) -> Reminder:
    """Record that a reminder went out."""
    scope.require("manage_reminders")
    reminder = scoped_get(session, scope, Reminder, reminder_id)
    if reminder.sent_at is None:
        reminder.sent_at = utcnow()
        audit.record(session, scope, "update", "reminder", reminder.id, sent=True)
    return reminder
