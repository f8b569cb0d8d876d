"""What is due: one outbox row per message and channel, found in the records.

- **aftercare**: the aftercare reminders completing a session schedules for the next day
  (``store.sessions``), with the dated restrictions of ``data/aftercare.toml``;
- **aftercare-end**: the day the restrictions after a completed session end (the longest
  after-each-session window, or, after the client's last session, the course window);
- **appointment**: 24 hours (``data/messaging.toml``) before a planned session, with a
  calendar invitation; moved or cancelled sessions cancel what is still due;
- **touch-up**: the touch-up reminder years after the last session (``plan.toml``).

Day-based messages go at the clinic's local ``send_at`` time on their day. Each row has
a key (``reminder:12``, ``appointment:7:2026-12-03T10:00:00+01:00``...) that is unique per
clinic and channel, and rows are inserted with ``ON CONFLICT DO NOTHING``: planning the
same message twice, by two workers or after a restart, leaves one row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pointillist.data import load_table
from pointillist.messaging.config import Timing, timing
from pointillist.store.models import (
    Client,
    Clinic,
    MessagingSettings,
    OutboxMessage,
    Reminder,
    TreatmentSession,
)

#: How far back completed sessions are looked at for the end of their restrictions: the
#: longest window (28 days after the last session) plus the stale limit, with room.
LOOKBACK_DAYS = 45


@dataclass(frozen=True)
class Planned:
    """A message to put in the outbox."""

    client_id: int
    kind: str
    key: str
    due_at: datetime
    session_id: int | None = None
    reminder_id: int | None = None
    skip_reason: str | None = None


def clinic_zone(settings: MessagingSettings) -> ZoneInfo:
    return ZoneInfo(settings.timezone or "UTC")


def appointment_start(treated: TreatmentSession, zone: ZoneInfo, opening: time) -> datetime:
    """When a session starts, in the clinic's time zone (by-day bookings: opening time)."""
    return datetime.combine(treated.scheduled_on, treated.start_time or opening, tzinfo=zone)


def opening_time(clinic: Clinic, settings: Timing) -> time:
    value = (clinic.settings or {}).get("opening_time")
    if value:
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            pass
    calendar = load_table("plan").get("calendar", {})
    try:
        return time.fromisoformat(str(calendar.get("opening_time", settings.default_start)))
    except ValueError:
        return settings.default_start


def plan_due(session: Session, now: datetime, *, settings: Timing | None = None) -> int:
    """Put every message due by ``now`` in the outbox, for every clinic that sends; cancel
    appointment reminders whose session moved or was cancelled. Returns rows added.

    Does not commit.
    """
    settings = settings or timing()
    added = 0
    clinics = session.execute(
        select(MessagingSettings, Clinic)
        .join(Clinic, Clinic.id == MessagingSettings.clinic_id)
        .where(
            (MessagingSettings.email_enabled.is_(True)) | (MessagingSettings.sms_enabled.is_(True))
        )
    ).all()
    for messaging, clinic in clinics:
        zone = clinic_zone(messaging)
        planned = [
            *_reminders(session, clinic.id, now, zone, settings),
            *_appointments(session, clinic, now, zone, settings),
            *_restrictions_end(session, clinic.id, now, zone, settings),
        ]
        _cancel_moved_appointments(session, clinic, now, zone, settings)
        channels = _channels(messaging)
        phones = _phones(session, {p.client_id for p in planned})
        for item in planned:
            for channel in channels:
                if channel == "sms" and not phones.get(item.client_id):
                    continue
                added += _insert(session, clinic.id, channel, item, now)
    return added


def _channels(messaging: MessagingSettings) -> list[str]:
    return [
        c for c, on in (("email", messaging.email_enabled), ("sms", messaging.sms_enabled)) if on
    ]


def _phones(session: Session, client_ids: set[int]) -> dict[int, str | None]:
    if not client_ids:
        return {}
    clients = session.scalars(select(Client).where(Client.id.in_(client_ids)))
    return {client.id: client.phone for client in clients}


def _insert(session: Session, clinic_id: int, channel: str, item: Planned, now: datetime) -> int:
    values: dict[str, Any] = {
        "clinic_id": clinic_id,
        "client_id": item.client_id,
        "session_id": item.session_id,
        "reminder_id": item.reminder_id,
        "kind": item.kind,
        "channel": channel,
        "dedupe_key": item.key,
        "status": "skipped" if item.skip_reason else "due",
        "last_error": item.skip_reason,
        "due_at": item.due_at,
        "next_attempt_at": max(item.due_at, now) if not item.skip_reason else now,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["clinic_id", "channel", "dedupe_key"])
    )
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def _at_send_time(day: date, zone: ZoneInfo, settings: Timing) -> datetime:
    return datetime.combine(day, settings.send_at, tzinfo=zone)


def _stale(kind: str, due: date, today: date, settings: Timing) -> str | None:
    limit = settings.stale_after_days.get(kind, 0)
    if (today - due).days > limit:
        return (
            f"too late to send: it was due on {due.isoformat()} and {kind} messages are "
            f"sent at most {limit} days late (data/messaging.toml)"
        )
    return None


def _reminders(
    session: Session, clinic_id: int, now: datetime, zone: ZoneInfo, settings: Timing
) -> Iterable[Planned]:
    local = now.astimezone(zone)
    has_row = exists().where(OutboxMessage.reminder_id == Reminder.id)
    query = select(Reminder).where(
        Reminder.clinic_id == clinic_id,
        Reminder.sent_at.is_(None),
        Reminder.due_on <= local.date(),
        ~has_row,
    )
    for reminder in session.scalars(query):
        due_at = _at_send_time(reminder.due_on, zone, settings)
        if due_at > now:
            continue
        yield Planned(
            client_id=reminder.client_id,
            kind=reminder.kind,
            key=f"reminder:{reminder.id}",
            due_at=due_at,
            session_id=reminder.session_id,
            reminder_id=reminder.id,
            skip_reason=_stale(reminder.kind, reminder.due_on, local.date(), settings),
        )


def _appointments(
    session: Session, clinic: Clinic, now: datetime, zone: ZoneInfo, settings: Timing
) -> Iterable[Planned]:
    local = now.astimezone(zone)
    lead = timedelta(hours=settings.appointment_hours_before)
    opening = opening_time(clinic, settings)
    query = select(TreatmentSession).where(
        TreatmentSession.clinic_id == clinic.id,
        TreatmentSession.status == "planned",
        TreatmentSession.scheduled_on >= local.date(),
        TreatmentSession.scheduled_on <= (local + lead).date() + timedelta(days=1),
    )
    for treated in session.scalars(query):
        start = appointment_start(treated, zone, opening)
        if not start - lead <= now < start:
            continue
        yield Planned(
            client_id=treated.client_id,
            kind="appointment",
            key=appointment_key(treated.id, start),
            due_at=start - lead,
            session_id=treated.id,
        )


def appointment_key(session_id: int, start: datetime) -> str:
    return f"appointment:{session_id}:{start.isoformat()}"


def _cancel_moved_appointments(
    session: Session, clinic: Clinic, now: datetime, zone: ZoneInfo, settings: Timing
) -> None:
    opening = opening_time(clinic, settings)
    rows = session.execute(
        select(OutboxMessage, TreatmentSession)
        .join(TreatmentSession, TreatmentSession.id == OutboxMessage.session_id)
        .where(
            OutboxMessage.clinic_id == clinic.id,
            OutboxMessage.kind == "appointment",
            OutboxMessage.status.in_(("due", "failed")),
        )
    ).all()
    for message, treated in rows:
        why = None
        if treated.status != "planned":
            why = f"the session was {treated.status}"
        elif message.dedupe_key != appointment_key(
            treated.id, appointment_start(treated, zone, opening)
        ):
            why = "the session was moved; a reminder for the new time replaces this one"
        if why is not None:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id, OutboxMessage.status.in_(("due", "failed")))
                .values(status="cancelled", last_error=why, updated_at=now)
            )


def _restrictions_end(
    session: Session, clinic_id: int, now: datetime, zone: ZoneInfo, settings: Timing
) -> Iterable[Planned]:
    local = now.astimezone(zone)
    table = load_table("aftercare")
    query = select(TreatmentSession).where(
        TreatmentSession.clinic_id == clinic_id,
        TreatmentSession.status == "completed",
        TreatmentSession.scheduled_on >= local.date() - timedelta(days=LOOKBACK_DAYS),
        TreatmentSession.scheduled_on < local.date(),
    )
    for treated in session.scalars(query):
        later = session.scalar(
            select(TreatmentSession.id).where(
                TreatmentSession.client_id == treated.client_id,
                TreatmentSession.status != "cancelled",
                TreatmentSession.scheduled_on > treated.scheduled_on,
            )
        )
        free_on, _ = restrictions_end(treated.scheduled_on, table, last=later is None)
        if free_on > local.date() or _at_send_time(free_on, zone, settings) > now:
            continue
        yield Planned(
            client_id=treated.client_id,
            kind="aftercare-end",
            key=f"aftercare-end:{treated.id}:{free_on.isoformat()}",
            due_at=_at_send_time(free_on, zone, settings),
            session_id=treated.id,
            skip_reason=_stale("aftercare-end", free_on, local.date(), settings),
        )


def restrictions_end(day: date, table: Mapping[str, Any], *, last: bool) -> tuple[date, list[str]]:
    """The first day free of the restrictions after a session on ``day``, and what they
    were: the longest after-each-session window, or for the ``last`` session of a course
    the course window too (end dates are inclusive, as in ``domain.aftercare``)."""
    rules = list(table.get("after_each_session", []))
    ends = [day + timedelta(days=int(r["days"])) for r in rules]
    if last:
        course = list(table.get("course", []))
        ends += [day + timedelta(days=int(r["days_after_last_session"])) for r in course]
        rules += course
    lifted = [", ".join(str(a) for a in rule["avoid"]) for rule in rules]
    return max(ends, default=day) + timedelta(days=1), lifted


def aftercare_lines(day: date, table: Mapping[str, Any]) -> list[str]:
    """The restrictions after a session on ``day``, dated, one line each."""
    lines = []
    for rule in table.get("after_each_session", []):
        until = day + timedelta(days=int(rule["days"]))
        lines.append(f"until {until:%A %d %B}: no {', '.join(rule['avoid'])}. {rule['advice']}")
    for rule in table.get("course", []):
        lines.append(
            f"until {int(rule['days_after_last_session'])} days after your last session: "
            f"no {', '.join(rule['avoid'])}. {rule['advice']}"
        )
    return lines
