"""Unsubscribe links: a signed token names the client and the channel, so the link works
without signing in and cannot be forged to unsubscribe someone else.

The token is ``<clinic>.<client>.<channel>`` and an HMAC-SHA256 of it under the server's
secret key (the same key signs browser sessions, kept in the data directory: a worker
running elsewhere must share the data directory's ``secret_key``). It does not expire:
an unsubscribe link in a year-old e-mail must still work.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from pointillist.store import audit
from pointillist.store.models import Client, OutboxMessage, utcnow
from pointillist.store.scope import Scope

CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class OptOut:
    """Whom an unsubscribe token names."""

    clinic_id: int
    client_id: int
    channel: str


def _mac(key: str, payload: str) -> str:
    return hmac.new(key.encode(), f"unsubscribe:{payload}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


def make_token(key: str, clinic_id: int, client_id: int, channel: str = "email") -> str:
    """The token of ``client_id``'s unsubscribe link for ``channel``."""
    payload = f"{clinic_id}.{client_id}.{channel}"
    return f"{payload}.{_mac(key, payload)}"


def read_token(key: str, token: str) -> OptOut | None:
    """Whom ``token`` names, or None if it was not made with ``key`` (or is malformed)."""
    parts = token.split(".")
    if len(parts) != 4 or parts[2] not in CHANNELS or not all(p.isdigit() for p in parts[:2]):
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, payload), parts[3]):
        return None
    return OptOut(clinic_id=int(parts[0]), client_id=int(parts[1]), channel=parts[2])


def unsubscribe_url(public_url: str, key: str, clinic_id: int, client_id: int) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe/{make_token(key, clinic_id, client_id)}"


def record_opt_out(session: Session, opt_out: OptOut) -> Client | None:
    """Withdraw the client's consent for the channel and cancel what is still due on it.

    Returns the client, or None if the record no longer exists (erased). Saying so twice
    changes nothing the second time.
    """
    client = session.get(Client, opt_out.client_id)
    if client is None or client.clinic_id != opt_out.clinic_id:
        return None
    changed = False
    if opt_out.channel == "email" and client.email_consent:
        client.email_consent = False
        client.email_opted_out_at = utcnow()
        changed = True
    if opt_out.channel == "sms" and client.sms_consent:
        client.sms_consent = False
        changed = True
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.clinic_id == client.clinic_id,
            OutboxMessage.client_id == client.id,
            OutboxMessage.channel == opt_out.channel,
            OutboxMessage.status.in_(("due", "failed")),
        )
        .values(status="cancelled", last_error="the client unsubscribed", updated_at=utcnow())
    )
    if changed:
        scope = Scope(clinic_id=client.clinic_id, role="owner", actor="unsubscribe-link")
        audit.record(
            session, scope, "update", "client", client.id, fields=[f"{opt_out.channel}_consent"]
        )
    return client
