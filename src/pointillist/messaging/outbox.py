"""The outbox: claiming a due message, recording what happened, backing off, and the
staff's retry and cancel.

**Never twice.** A worker claims a message with one conditional ``UPDATE ... SET
status='sending', lease_until=... WHERE id=? AND status='due'`` and goes on only if it
changed one row: two workers (threads, processes or machines) cannot both claim it,
on SQLite (one writer at a time) or PostgreSQL (the second ``UPDATE`` waits for the
first's row lock, then sees the new status and changes nothing). On PostgreSQL the
candidate is picked with ``FOR UPDATE SKIP LOCKED`` so that workers do not queue behind
each other's rows.

**Killed mid-send: at most once.** The claim commits, with the message's ``Message-ID``,
before the SMTP conversation starts. If the worker dies before it records the outcome,
the message stays ``sending`` until its lease expires; nobody can then know whether the
mail server accepted it (the worker may have died a microsecond after the server's
"250 OK"). pointillist then marks it ``uncertain`` and never sends it again by itself:
a client who gets an aftercare e-mail twice, or two invitations, trusts the clinic less
than one who has to be re-sent one by hand. The Messages page shows uncertain messages
with their Message-ID, which the mail server's log (or the client's inbox) can be
searched for, and a "send again" button. The price: a message can be lost if a worker is
killed mid-send, and someone has to look. The alternative, at-least-once (re-send after
the lease), would send a duplicate in exactly those cases, detectable by the repeated
Message-ID but not preventable.

Failures that are known to have left the message unsent (no connection, a refused
sign-in, a 4xx answer before or to the data) go back to ``due`` with an exponential
back-off (``data/messaging.toml``); permanent refusals (a 5xx for the recipient) and the
last allowed attempt end in ``failed``. Both show on the Messages page.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pointillist.errors import PointillistError
from pointillist.messaging.config import Timing, timing
from pointillist.store import audit
from pointillist.store.errors import GateClosed
from pointillist.store.models import Client, OutboxMessage
from pointillist.store.records import scoped_get
from pointillist.store.scope import Scope

#: Statuses a message can be retried from by staff, and cancelled from.
RETRYABLE = ("due", "failed", "uncertain")
CANCELLABLE = ("due", "failed", "uncertain")


def worker_name() -> str:
    """Who holds a lease, as the Messages page shows it: host and process."""
    import os

    return f"{socket.gethostname()}:{os.getpid()}"


def reap_expired_leases(session: Session, now: datetime) -> int:
    """Mark messages whose worker stopped mid-send as ``uncertain`` (see the module's
    docstring); returns how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.lease_until < now)
        .values(
            status="uncertain",
            last_error=(
                "the worker stopped while sending this message, so it may have gone out; "
                "search the mail server's log for its Message-ID, then send it again or cancel"
            ),
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim_next(
    session: Session, owner: str, now: datetime, *, settings: Timing | None = None
) -> OutboxMessage | None:
    """Claim the next due message for ``owner`` and commit the claim; None if none is due.

    The claim sets the lease, counts the attempt and, for e-mail, fixes the Message-ID,
    all before anything is sent.
    """
    settings = settings or timing()
    while True:
        query = (
            select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.message_id)
            .where(OutboxMessage.status == "due", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).first()
        if row is None:
            session.commit()
            return None
        message_id = row.message_id
        if row.channel == "email" and message_id is None:
            message_id = make_msgid(domain="pointillist.invalid")
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == "due")
            .values(
                status="sending",
                lease_owner=owner,
                lease_until=now + timedelta(seconds=settings.lease_seconds),
                attempts=OutboxMessage.attempts + 1,
                message_id=message_id,
                updated_at=now,
            )
        )
        session.commit()
        if getattr(result, "rowcount", 0) == 1:
            return session.get(OutboxMessage, row.id, populate_existing=True)
        # Another worker claimed it between the SELECT and the UPDATE: look again.


def _finish(
    session: Session, message: OutboxMessage, owner: str, now: datetime, **values: object
) -> bool:
    """Record an outcome if ``owner`` still holds the message (its lease may have been
    reaped, or staff cancelled it meanwhile). Commits; returns whether it was recorded."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status == "sending",
            OutboxMessage.lease_owner == owner,
        )
        .values(lease_owner=None, lease_until=None, updated_at=now, **values)
    )
    recorded = getattr(result, "rowcount", 0) == 1
    session.commit()
    session.refresh(message)
    return recorded


def mark_sent(
    session: Session,
    message: OutboxMessage,
    owner: str,
    now: datetime,
    *,
    recipient: str,
    subject: str,
) -> bool:
    """The mail server (or SMS webhook) accepted the message."""
    return _finish(
        session,
        message,
        owner,
        now,
        status="sent",
        sent_at=now,
        recipient=recipient,
        subject=subject[:300],
        last_error=None,
    )


def mark_not_sent(
    session: Session,
    message: OutboxMessage,
    owner: str,
    now: datetime,
    error: str,
    *,
    permanent: bool,
    settings: Timing | None = None,
) -> bool:
    """The attempt failed and nothing went out: back off, or give up."""
    settings = settings or timing()
    if permanent or message.attempts >= settings.max_attempts:
        if not permanent:
            error = f"{error} (gave up after {message.attempts} attempts)"
        return _finish(session, message, owner, now, status="failed", last_error=error[:2000])
    delay = settings.retry_delay_seconds(message.attempts)
    return _finish(
        session,
        message,
        owner,
        now,
        status="due",
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=error[:2000],
    )


def mark_skipped(
    session: Session, message: OutboxMessage, owner: str, now: datetime, why: str
) -> bool:
    """Nothing to send to (no address, no consent, messaging switched off)."""
    return _finish(session, message, owner, now, status="skipped", last_error=why)


def mark_uncertain(
    session: Session, message: OutboxMessage, owner: str, now: datetime, why: str
) -> bool:
    """The connection broke after the message was handed over: it may have gone out."""
    return _finish(session, message, owner, now, status="uncertain", last_error=why[:2000])


# --- for the staff (the Messages page) --------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    """A message as the Messages page lists it."""

    message: OutboxMessage
    client_name: str


def list_messages(
    session: Session, scope: Scope, *, statuses: Sequence[str] = (), limit: int = 200
) -> list[OutboxRow]:
    """The clinic's messages, those needing attention first, then newest."""
    scope.require("manage_reminders")
    query = (
        select(OutboxMessage, Client)
        .join(Client, Client.id == OutboxMessage.client_id)
        .where(OutboxMessage.clinic_id == scope.clinic_id)
    )
    if statuses:
        query = query.where(OutboxMessage.status.in_(tuple(statuses)))
    query = query.order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc()).limit(limit)
    rows = [OutboxRow(message, client.name) for message, client in session.execute(query)]
    audit.record(session, scope, "list", "message", None, count=len(rows))
    return rows


def status_counts(session: Session, scope: Scope) -> dict[str, int]:
    """How many of the clinic's messages are in each status."""
    query = (
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.clinic_id == scope.clinic_id)
        .group_by(OutboxMessage.status)
    )
    return {status: int(count) for status, count in session.execute(query)}


def _staff_action(
    session: Session, scope: Scope, message_id: int, allowed: Sequence[str], action: str
) -> OutboxMessage:
    """The clinic's message ``message_id``, if its status is one of ``allowed``."""
    scope.require("manage_reminders")
    message = scoped_get(session, scope, OutboxMessage, message_id)
    if message.status not in allowed:
        statuses = f"{', '.join(allowed[:-1])} or {allowed[-1]}"
        raise GateClosed(
            f"message {message_id} is {message.status}; only a {statuses} message can be {action}"
        )
    return message


def retry_now(session: Session, scope: Scope, message_id: int, now: datetime) -> OutboxMessage:
    """Send a due, failed or uncertain message at the next pass of the worker."""
    message = _staff_action(session, scope, message_id, RETRYABLE, "sent again")
    # A failed message gets its full round of attempts again.
    message.attempts = 0 if message.status == "failed" else message.attempts
    message.status = "due"
    message.next_attempt_at = now
    message.updated_at = now
    audit.record(session, scope, "update", "message", message.id, retry=True)
    return message


def cancel(session: Session, scope: Scope, message_id: int, now: datetime) -> OutboxMessage:
    """Do not send a message that has not gone out."""
    message = _staff_action(session, scope, message_id, CANCELLABLE, "cancelled")
    message.status = "cancelled"
    message.last_error = f"cancelled by {scope.actor}"
    message.updated_at = now
    audit.record(session, scope, "cancel", "message", message.id)
    return message


def messages_for_client(session: Session, scope: Scope, client_id: int) -> list[OutboxMessage]:
    """A client's messages, for the timeline (no audit entry: the page's read has one)."""
    if not scope.can("read_records"):
        raise PointillistError("cannot read records")
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.clinic_id == scope.clinic_id, OutboxMessage.client_id == client_id)
        .order_by(OutboxMessage.due_at)
    )
    return list(session.scalars(query))
