"""The worker: plan what is due, then claim and send due messages one by one, until told
to stop (``pointillist worker``, ``serve --with-worker``) or once (``--once``, for cron).

Stopping is clean: the stop event is checked between messages, so Ctrl-C lets the message
in hand finish and be recorded. A worker killed outright (power cut, ``kill -9``) leaves
that one message ``sending``; the next worker marks it ``uncertain`` once its lease has
expired (see :mod:`pointillist.messaging.outbox`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.messaging import outbox
from pointillist.messaging.config import Timing, get_settings, timing
from pointillist.messaging.mail import (
    MaybeSent,
    NotSent,
    build_email,
    calendar_invitation,
    send_email,
)
from pointillist.messaging.schedule import (
    aftercare_lines,
    appointment_start,
    clinic_zone,
    opening_time,
    plan_due,
    restrictions_end,
)
from pointillist.messaging.sms import send_sms
from pointillist.messaging.templates import effective_templates, render_message
from pointillist.messaging.unsubscribe import unsubscribe_url
from pointillist.reports.ics import appointment_to_ics
from pointillist.store import audit
from pointillist.store.client_keys import KeyFile
from pointillist.store.models import (
    Client,
    Clinic,
    MessagingSettings,
    OutboxMessage,
    Reminder,
    TreatmentSession,
)
from pointillist.store.scope import Scope

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Worker:
    """Sends what is due from one database.

    Parameters
    ----------
    factory
        Sessions on the clinic's database.
    secret_key
        The server's secret key (``Settings.secret_key()``): it signs unsubscribe links.
    clock
        Where the time comes from (tests move it forward).
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        secret_key: str,
        *,
        clock: Clock = utc_now,
        settings: Timing | None = None,
        name: str | None = None,
    ) -> None:
        self.factory = factory
        self.secret_key = secret_key
        self.clock = clock
        self.settings = settings or timing()
        self.name = name or outbox.worker_name()

    def run_pass(self, stop: threading.Event | None = None) -> Counter[str]:
        """Plan, then send every message due now; returns how many ended in each status."""
        outcomes: Counter[str] = Counter()
        with self.factory() as session:
            now = self.clock()
            uncertain = outbox.reap_expired_leases(session, now)
            added = plan_due(session, now, settings=self.settings)
            session.commit()
            if uncertain:
                log.warning("%d messages were left mid-send by a stopped worker", uncertain)
                outcomes["uncertain"] += uncertain
            outcomes["planned"] += added
            while stop is None or not stop.is_set():
                message = outbox.claim_next(
                    session, self.name, self.clock(), settings=self.settings
                )
                if message is None:
                    break
                outcomes[self.deliver(session, message)] += 1
        return outcomes

    def run(self, stop: threading.Event, *, once: bool = False) -> None:
        """Passes every ``poll_seconds`` until ``stop`` is set (or one, with ``once``).

        A database that cannot be reached is logged and tried again at the next pass.
        """
        while not stop.is_set():
            try:
                outcomes = self.run_pass(stop)
            except OperationalError as exc:
                log.warning("messages: the database cannot be reached (%s); trying again", exc.orig)
            except Exception:
                # A bug must not end the worker thread of a server (serve --with-worker):
                # log it and try again at the next pass. A message it left "sending" turns
                # "uncertain" when its lease expires.
                log.exception("messages: the pass failed; trying again at the next one")
            else:
                sent = {k: v for k, v in outcomes.items() if v}
                if sent:
                    log.info("messages: %s", ", ".join(f"{v} {k}" for k, v in sorted(sent.items())))
            if once:
                return
            stop.wait(self.settings.poll_seconds)

    # --- one message ---------------------------------------------------------------

    def deliver(self, session: Session, message: OutboxMessage) -> str:
        """Send one claimed message and record the outcome; returns its new status."""
        settings = get_settings(session, message.clinic_id)
        client = session.get(Client, message.client_id)
        clinic = session.get(Clinic, message.clinic_id)
        assert client is not None and clinic is not None  # rows cascade with the client
        why_not = _why_not(message, client, settings)
        if why_not is not None:
            outbox.mark_skipped(session, message, self.name, self.clock(), why_not)
            return "skipped"
        try:
            context, attachments = self._content(session, message, client, clinic, settings)
            rendered = render_message(
                effective_templates(settings.templates), message.kind, context
            )
        except Exception as exc:
            # Nothing has been sent yet, and trying again would fail the same way: say
            # why on the Messages page rather than leave it "sending".
            why = exc.message if isinstance(exc, PointillistError) else repr(exc)
            if not isinstance(exc, PointillistError):
                log.exception("messages: cannot prepare message %d", message.id)
            session.rollback()
            outbox.mark_not_sent(
                session,
                message,
                self.name,
                self.clock(),
                f"the message could not be prepared: {why}",
                permanent=True,
            )
            return "failed"
        recipient = client.email if message.channel == "email" else client.phone
        assert recipient is not None
        # End the read before talking to the mail server: on SQLite every transaction
        # holds the write lock, which the web server must not wait on for a slow server.
        session.commit()
        try:
            if message.channel == "email":
                email = self._build(
                    message, settings, client, recipient, rendered, context, attachments
                )
                send_email(settings, email, timeout=self.settings.smtp_timeout_seconds)
            else:
                send_sms(
                    settings, recipient, rendered.sms, timeout=self.settings.sms_timeout_seconds
                )
        except NotSent as exc:
            outbox.mark_not_sent(
                session,
                message,
                self.name,
                self.clock(),
                str(exc),
                permanent=exc.permanent,
                settings=self.settings,
            )
            return "failed" if message.status == "failed" else "retry"
        except MaybeSent as exc:
            outbox.mark_uncertain(session, message, self.name, self.clock(), str(exc))
            return "uncertain"
        if message.reminder_id is not None:
            reminder = session.get(Reminder, message.reminder_id)
            if reminder is not None and reminder.sent_at is None:
                reminder.sent_at = self.clock()
        scope = Scope(clinic_id=message.clinic_id, role="owner", actor="messages-worker")
        audit.record(
            session, scope, "update", "message", message.id, status="sent", channel=message.channel
        )
        subject = rendered.subject if message.channel == "email" else rendered.sms
        outbox.mark_sent(
            session, message, self.name, self.clock(), recipient=recipient, subject=subject
        )
        return "sent"

    def _build(
        self,
        message: OutboxMessage,
        settings: MessagingSettings,
        client: Client,
        recipient: str,
        rendered: Any,
        context: dict[str, Any],
        attachments: tuple[Any, ...],
    ) -> Any:
        try:
            return build_email(
                sender=settings.from_address,
                to_address=recipient,
                to_name=client.name,
                rendered=rendered,
                message_id=str(message.message_id),
                unsubscribe_url=str(context["unsubscribe_url"]),
                attachments=attachments,
            )
        except (ValueError, TypeError, IndexError) as exc:
            # A malformed stored address or a header the e-mail library cannot write:
            # nothing was sent, and trying again will not help.
            raise NotSent(f"the e-mail could not be written: {exc}", permanent=True) from None

    def _content(
        self,
        session: Session,
        message: OutboxMessage,
        client: Client,
        clinic: Clinic,
        settings: MessagingSettings,
    ) -> tuple[dict[str, Any], tuple[Any, ...]]:
        context: dict[str, Any] = {
            "client_name": client.name,
            "clinic_name": clinic.name,
            "unsubscribe_url": unsubscribe_url(
                settings.public_url, self.secret_key, clinic.id, client.id
            ),
            "message": "",
            "session_date": "",
            "restrictions": [],
            "last_session_date": "",
            "years": load_table("plan")["touch_up"]["years_after_last_session"],
            "appointment": {},
        }
        treated = session.get(TreatmentSession, message.session_id) if message.session_id else None
        reminder = session.get(Reminder, message.reminder_id) if message.reminder_id else None
        if treated is not None:
            context["session_date"] = f"{treated.scheduled_on:%A %d %B %Y}"
            context["last_session_date"] = context["session_date"]
        aftercare = load_table("aftercare")
        attachments: tuple[Any, ...] = ()
        if message.kind == "aftercare":
            if treated is not None:
                context["restrictions"] = aftercare_lines(treated.scheduled_on, aftercare)
            elif reminder is not None:
                context["message"] = reminder.message
        elif message.kind == "aftercare-end" and treated is not None:
            later = session.scalar(
                select(func.count()).where(
                    TreatmentSession.client_id == treated.client_id,
                    TreatmentSession.status != "cancelled",
                    TreatmentSession.scheduled_on > treated.scheduled_on,
                )
            )
            _, lifted = restrictions_end(treated.scheduled_on, aftercare, last=not later)
            context["restrictions"] = lifted
        elif message.kind == "touch-up" and reminder is not None and treated is None:
            context["message"] = reminder.message
        elif message.kind == "appointment":
            if treated is None:
                raise PointillistError("the appointment no longer exists")
            zone = clinic_zone(settings)
            start = appointment_start(treated, zone, opening_time(clinic, self.settings))
            minutes = int(treated.duration_minutes or 60)
            context["appointment"] = {
                "date": f"{start:%A %d %B %Y}",
                "time": f"{start:%H:%M}",
                "minutes": minutes,
                "practitioner": treated.practitioner.name,
            }
            if message.channel == "email" and client.email:
                sequence = session.scalar(
                    select(func.count()).where(
                        OutboxMessage.session_id == treated.id,
                        OutboxMessage.kind == "appointment",
                        OutboxMessage.channel == "email",
                        OutboxMessage.status == "sent",
                    )
                )
                from email.utils import parseaddr

                ics = appointment_to_ics(
                    uid=f"session-{treated.id}-clinic-{clinic.id}@pointillist",
                    start=start,
                    minutes=minutes,
                    summary=f"SMP session at {clinic.name}",
                    location=clinic.name,
                    description=(
                        f"Scalp micropigmentation session with {treated.practitioner.name}."
                    ),
                    organizer_email=parseaddr(settings.from_address)[1],
                    organizer_name=clinic.name,
                    attendee_email=client.email,
                    attendee_name=client.name,
                    sequence=int(sequence or 0),
                    stamp=self.clock(),
                )
                attachments = (calendar_invitation(ics),)
        return context, attachments


def _why_not(message: OutboxMessage, client: Client, settings: MessagingSettings) -> str | None:
    """Why this message must not go, or None if it may."""
    if message.channel == "email":
        if not settings.email_enabled:
            return "e-mail is switched off under Clinic > Messages"
        if not client.email:
            return "the client has no e-mail address; add one on the client's page"
        if not client.email_consent:
            return "the client does not want e-mails (unsubscribed or consent withdrawn)"
    else:
        if not settings.sms_enabled:
            return "SMS is switched off under Clinic > Messages"
        if not client.phone:
            return "the client has no phone number"
        if not client.sms_consent:
            return "the client does not want SMS"
    return None


class BackgroundWorker:
    """A worker in a thread of another program (``serve --with-worker``, the demo clinic),
    with its own database engine."""

    def __init__(
        self, database_url: str, secret_key: str, keys: KeyFile, *, clock: Clock = utc_now
    ) -> None:
        from pointillist.store.db import make_engine, session_factory

        self.engine = make_engine(database_url)
        self.worker = Worker(session_factory(self.engine, keys=keys), secret_key, clock=clock)
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self.worker.run, args=(self.stop,), name="messages-worker", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def close(self, timeout: float = 60.0) -> None:
        """Stop after the message in hand and release the database."""
        self.stop.set()
        self.thread.join(timeout)
        self.engine.dispose()
