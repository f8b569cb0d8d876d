"""A clinic's messaging settings: its mail server, SMS webhook, public address, time zone
and wording, checked field by field before they are kept.

The SMTP password is write-only: it is kept (the worker needs it to sign in to the mail
server) but never returned by :func:`settings_form`, and an empty password field on the
form keeps the one already saved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import TemplateError
from sqlalchemy.orm import Session

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.messaging.templates import check_templates
from pointillist.store import audit
from pointillist.store.accounts import is_email_address
from pointillist.store.models import SMTP_SECURITY, MessagingSettings
from pointillist.store.scope import Scope

#: Ports people expect for each kind of SMTP security (RFC 8314: 465 implicit TLS,
#: RFC 6409: 587 submission with STARTTLS).
DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class Timing:
    """When messages go and how failures back off (``data/messaging.toml``)."""

    send_at: time
    appointment_hours_before: float
    default_start: time
    stale_after_days: Mapping[str, int]
    first_delay_seconds: float
    factor: float
    max_delay_seconds: float
    max_attempts: int
    poll_seconds: float
    lease_seconds: float
    smtp_timeout_seconds: float
    sms_timeout_seconds: float

    def retry_delay_seconds(self, attempts: int) -> float:
        """Wait after the ``attempts``-th failed attempt (1 for the first)."""
        return min(self.first_delay_seconds * self.factor ** (attempts - 1), self.max_delay_seconds)


@cache
def timing() -> Timing:
    """The packaged timings."""
    table = load_table("messaging")
    when, retry, worker = table["timing"], table["retry"], table["worker"]
    return Timing(
        send_at=time.fromisoformat(when["send_at"]),
        appointment_hours_before=float(when["appointment_hours_before"]),
        default_start=time.fromisoformat(when["default_start"]),
        stale_after_days={k: int(v) for k, v in when["stale_after_days"].items()},
        first_delay_seconds=float(retry["first_delay_seconds"]),
        factor=float(retry["factor"]),
        max_delay_seconds=float(retry["max_delay_seconds"]),
        max_attempts=int(retry["max_attempts"]),
        poll_seconds=float(worker["poll_seconds"]),
        lease_seconds=float(worker["lease_seconds"]),
        smtp_timeout_seconds=float(worker["smtp_timeout_seconds"]),
        sms_timeout_seconds=float(worker["sms_timeout_seconds"]),
    )


def default_sms_body() -> str:
    return str(load_table("messaging")["sms"]["body_template"])


def get_settings(session: Session, clinic_id: int) -> MessagingSettings:
    """The clinic's messaging settings (defaults, not yet saved, if it has none)."""
    found = session.get(MessagingSettings, clinic_id)
    if found is not None:
        return found
    return MessagingSettings(
        clinic_id=clinic_id,
        email_enabled=False,
        smtp_host="",
        smtp_port=587,
        smtp_security="starttls",
        smtp_user="",
        smtp_password="",
        from_address="",
        sms_enabled=False,
        sms_webhook_url="",
        sms_auth_header="",
        sms_body_template="",
        public_url="",
        timezone="UTC",
        templates={},
    )


def settings_form(found: MessagingSettings) -> dict[str, Any]:
    """The settings as the page shows them: everything but the password."""
    return {
        "email_enabled": bool(found.email_enabled),
        "smtp_host": found.smtp_host,
        "smtp_port": str(found.smtp_port),
        "smtp_security": found.smtp_security,
        "smtp_user": found.smtp_user,
        "has_password": bool(found.smtp_password),
        "from_address": found.from_address,
        "sms_enabled": bool(found.sms_enabled),
        "sms_webhook_url": found.sms_webhook_url,
        "sms_auth_header": found.sms_auth_header,
        "sms_body_template": found.sms_body_template or default_sms_body(),
        "public_url": found.public_url,
        "timezone": found.timezone,
    }


def update_settings(
    session: Session, scope: Scope, changes: Mapping[str, Any]
) -> MessagingSettings:
    """Check and keep the clinic's messaging settings (owners).

    ``changes`` holds the form's fields (strings and booleans); ``smtp_password`` empty or
    missing keeps the saved one, ``clear_password`` removes it; ``templates`` the
    clinic's wording by kind and part. Every problem raises :class:`PointillistError`
    naming its field; nothing is saved then.
    """
    scope.require("manage_clinic")
    current = get_settings(session, scope.clinic_id)
    values = dict(settings_form(current))
    values.update({k: v for k, v in changes.items() if k in values})
    checked = check_settings(values)
    password = current.smtp_password
    if changes.get("clear_password"):
        password = ""
    elif str(changes.get("smtp_password") or ""):
        password = str(changes["smtp_password"])
    templates = current.templates
    if "templates" in changes:
        templates = check_templates(changes["templates"])
    if checked["email_enabled"] and checked["smtp_user"] and not password:
        raise PointillistError(
            "give the mail server password for this user (or clear the user name)",
            field="smtp_password",
        )
    if session.get(MessagingSettings, scope.clinic_id) is None:
        session.add(current)
    for key, value in checked.items():
        setattr(current, key, value)
    current.smtp_password = password
    current.templates = templates
    session.flush()
    audit.record(session, scope, "update", "messaging_settings", scope.clinic_id)
    return current


def check_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings with types fixed, or :class:`PointillistError` naming the first bad field."""
    email_enabled = bool(values.get("email_enabled"))
    sms_enabled = bool(values.get("sms_enabled"))
    host = str(values.get("smtp_host", "")).strip()
    security = str(values.get("smtp_security", "starttls")).strip().lower()
    if security not in SMTP_SECURITY:
        raise PointillistError(
            f"security {security!r} is unknown; choose STARTTLS, TLS or none", field="smtp_security"
        )
    port_text = str(values.get("smtp_port", "")).strip() or str(DEFAULT_PORTS[security])
    try:
        port = int(port_text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise PointillistError(
            f"port {port_text!r} is not a TCP port; give a number from 1 to 65535 "
            "(587 for STARTTLS, 465 for TLS)",
            field="smtp_port",
        )
    sender = str(values.get("from_address", "")).strip()
    if email_enabled and not host:
        raise PointillistError("give the mail server's host name to send e-mail", field="smtp_host")
    if email_enabled and not sender:
        raise PointillistError("give the address e-mails come from", field="from_address")
    if sender and not is_email_address(_bare_address(sender)):
        raise PointillistError(
            f"{sender!r} is not an e-mail address; write e.g. studio@example.com "
            "or Studio <studio@example.com>",
            field="from_address",
        )
    public_url = str(values.get("public_url", "")).strip().rstrip("/")
    if public_url:
        _check_url(public_url, "public_url", "the address clients reach this server at")
    elif email_enabled:
        raise PointillistError(
            "give the address clients reach this server at (for the unsubscribe link), "
            "e.g. https://studio.example",
            field="public_url",
        )
    zone = str(values.get("timezone", "")).strip() or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PointillistError(
            f"{zone!r} is not a time zone; give its IANA name, e.g. Europe/Amsterdam",
            field="timezone",
        ) from None
    webhook = str(values.get("sms_webhook_url", "")).strip()
    if webhook:
        _check_url(webhook, "sms_webhook_url", "the SMS webhook")
    elif sms_enabled:
        raise PointillistError("give the SMS provider's webhook URL", field="sms_webhook_url")
    header = str(values.get("sms_auth_header", "")).strip()
    if header and (":" not in header or not header.split(":", 1)[0].strip()):
        raise PointillistError(
            "write the header as Name: value, e.g. Authorization: Bearer abc123",
            field="sms_auth_header",
        )
    if "\n" in header or "\r" in header:
        raise PointillistError("the header must be on one line", field="sms_auth_header")
    body = str(values.get("sms_body_template", "")).strip() or default_sms_body()
    sms_body(body, "+15550100", 'Sample text with "quotes"')
    return {
        "email_enabled": email_enabled,
        "smtp_host": host,
        "smtp_port": port,
        "smtp_security": security,
        "smtp_user": str(values.get("smtp_user", "")).strip(),
        "from_address": sender,
        "sms_enabled": sms_enabled,
        "sms_webhook_url": webhook,
        "sms_auth_header": header,
        "sms_body_template": "" if body == default_sms_body() else body,
        "public_url": public_url,
        "timezone": zone,
    }


def sms_body(template: str, to: str, text: str) -> Any:
    """The JSON document the SMS webhook receives, from the clinic's body template.

    Raises
    ------
    PointillistError
        If the template does not render or does not make JSON.
    """
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(autoescape=False)
    try:
        rendered = env.from_string(template or default_sms_body()).render(to=to, text=text)
    except TemplateError as exc:
        raise PointillistError(
            f"the SMS body template does not render: {exc.message}; use {{{{ to|tojson }}}} "
            "and {{ text|tojson }}",
            field="sms_body_template",
        ) from None
    try:
        return json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise PointillistError(
            f"the SMS body template does not make JSON ({exc.msg} at character {exc.pos}); "
            'put values in with |tojson, e.g. {"to": {{ to|tojson }}}',
            field="sms_body_template",
        ) from None


def _check_url(url: str, field: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PointillistError(
            f"{url!r} is not a web address for {what}; start it with https:// (or http://)",
            field=field,
        )


def _bare_address(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1] or sender
