"""Messages to clients: the outbox for the front desk and the owner (what is due, sent,
failed or uncertain, with retry and cancel), the clinic's mail and SMS settings and
wording (owners), a client's consent, and the unsubscribe link clients follow without
signing in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pointillist.errors import PointillistError
from pointillist.messaging import outbox
from pointillist.messaging.config import get_settings, settings_form, update_settings
from pointillist.messaging.templates import (
    KIND_NAMES,
    PARTS,
    effective_templates,
    sample_context,
)
from pointillist.messaging.unsubscribe import read_token, record_opt_out
from pointillist.store import audit, records
from pointillist.store.models import MESSAGE_STATUSES, SMTP_SECURITY
from pointillist.web.deps import AppSettings, DbSession
from pointillist.web.pages._common import FormErrors, Page, SignedIn, form_text, redirect, render
from pointillist.web.routers._common import PathId

router = APIRouter(include_in_schema=False)

#: What each status means to the front desk, in the order the filter lists them.
STATUS_WORDS = {
    "due": "waiting for its time or its next attempt",
    "sending": "being sent now",
    "sent": "accepted by the mail server or SMS provider",
    "failed": "not sent: refused for good, or too many attempts",
    "uncertain": "the worker stopped while sending: it may have gone out",
    "cancelled": "will not be sent",
    "skipped": "nothing to send to (no address, no consent, too late)",
}
ATTENTION = ("failed", "uncertain")
SHORT_KINDS = {kind: name.split(" (")[0] for kind, name in KIND_NAMES.items()}


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/messages")
def messages_page(
    request: Request,
    page: SignedIn,
    db: DbSession,
    status: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    page.scope.require("manage_reminders")
    wanted = [status] if status in MESSAGE_STATUSES else []
    rows = outbox.list_messages(db, page.scope, statuses=wanted)
    settings = get_settings(db, page.scope.clinic_id)
    zone = ZoneInfo(settings.timezone or "UTC")
    context = {
        "rows": rows,
        "zone": settings.timezone or "UTC",
        "local": lambda at: f"{at.astimezone(zone):%d %b %Y %H:%M}",
        "short_kinds": SHORT_KINDS,
        "status": status if wanted else "",
        "counts": outbox.status_counts(db, page.scope),
        "status_words": STATUS_WORDS,
        "kind_names": KIND_NAMES,
        "settings": settings,
        "attention": ATTENTION,
    }
    return render(request, "messages/list.html", context)


@router.post("/messages/{message_id}/retry")
def retry_message(request: Request, message_id: PathId, page: SignedIn, db: DbSession) -> Response:
    outbox.retry_now(db, page.scope, message_id, _now())
    return redirect(
        request,
        _back(request),
        flash=f"Message {message_id} will be sent at the worker's next pass.",
    )


@router.post("/messages/{message_id}/cancel")
def cancel_message(request: Request, message_id: PathId, page: SignedIn, db: DbSession) -> Response:
    outbox.cancel(db, page.scope, message_id, _now())
    return redirect(request, _back(request), flash=f"Message {message_id} cancelled.")


def _back(request: Request) -> str:
    status = request.query_params.get("status", "")
    return f"/messages?status={status}" if status in MESSAGE_STATUSES else "/messages"


# --- a client's consent -----------------------------------------------------------------


@router.post("/clients/{client_id}/messaging-consent")
async def client_consent(
    request: Request, client_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    page.scope.require("manage_reminders")
    form = await request.form()
    client = records.get_client(db, page.scope, client_id)
    email = form.get("email_consent") == "on"
    sms = form.get("sms_consent") == "on"
    changed = []
    if email != client.email_consent:
        client.email_consent = email
        client.email_opted_out_at = None if email else _now()
        changed.append("email_consent")
    if sms != client.sms_consent:
        client.sms_consent = sms
        changed.append("sms_consent")
    if changed:
        audit.record(db, page.scope, "update", "client", client.id, fields=changed)
    return redirect(request, f"/clients/{client.id}", flash="Message consent saved.")


# --- the clinic's settings (owners) -------------------------------------------------------


def _render_settings(
    request: Request,
    page: Page,
    db: DbSession,
    form: dict[str, Any] | None,
    templates: dict[str, dict[str, str]] | None,
    errors: FormErrors,
    *,
    status_code: int = 200,
) -> Response:
    page.scope.require("manage_clinic")
    found = get_settings(db, page.scope.clinic_id)
    context = {
        "form": form or settings_form(found),
        "has_password": bool(found.smtp_password),
        "templates": templates or effective_templates(found.templates),
        "kind_names": KIND_NAMES,
        "parts": PARTS,
        "part_labels": {
            "subject": "Subject",
            "text": "Plain-text body",
            "html": "HTML body",
            "sms": "SMS text",
        },
        "names": sorted(sample_context("appointment")),
        "securities": SMTP_SECURITY,
        "errors": errors,
    }
    return render(request, "clinic/messages.html", context, status_code=status_code)


@router.get("/clinic/messages")
def messaging_settings_page(request: Request, page: SignedIn, db: DbSession) -> Response:
    return _render_settings(request, page, db, None, None, FormErrors())


@router.post("/clinic/messages")
async def save_messaging_settings(request: Request, page: SignedIn, db: DbSession) -> Response:
    page.scope.require("manage_clinic")
    form = await request.form()
    keys = (
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_user",
        "from_address",
        "sms_webhook_url",
        "sms_auth_header",
        "sms_body_template",
        "public_url",
        "timezone",
    )
    typed: dict[str, Any] = {key: form_text(form, key) for key in keys}
    typed["email_enabled"] = form.get("email_enabled") == "on"
    typed["sms_enabled"] = form.get("sms_enabled") == "on"
    password = form.get("smtp_password")
    templates = {
        kind: {
            part: str(form.get(f"tpl-{kind}-{part}") or "").replace("\r\n", "\n") for part in PARTS
        }
        for kind in KIND_NAMES
    }
    errors = FormErrors()
    try:
        update_settings(
            db,
            page.scope,
            {
                **typed,
                "smtp_password": password if isinstance(password, str) else "",
                "clear_password": form.get("clear_password") == "on",
                "templates": templates,
            },
        )
    except PointillistError as exc:
        errors.add(exc)
        errors.fields.setdefault(exc.field or "form", exc.message)
        db.rollback()
        return _render_settings(request, page, db, typed, templates, errors, status_code=422)
    return redirect(request, "/clinic/messages", flash="Message settings saved.")


# --- unsubscribe (no sign-in) -------------------------------------------------------------


@router.get("/unsubscribe/{token}")
def unsubscribe_page(
    request: Request, token: str, db: DbSession, settings: AppSettings
) -> Response:
    opt_out = read_token(settings.secret_key(), token)
    if opt_out is None:
        return _bad_link(request)
    client = records_client(db, opt_out.clinic_id, opt_out.client_id)
    return render(
        request,
        "messages/unsubscribe.html",
        {
            "token": token,
            "done": client is not None and not client.email_consent,
            "gone": client is None,
        },
    )


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str, db: DbSession, settings: AppSettings) -> Response:
    """The link's button, and mail programs' one-click unsubscribe (RFC 8058), which posts
    ``List-Unsubscribe=One-Click`` here."""
    opt_out = read_token(settings.secret_key(), token)
    if opt_out is None:
        return _bad_link(request)
    client = record_opt_out(db, opt_out)
    return render(
        request,
        "messages/unsubscribe.html",
        {"token": token, "done": client is not None, "gone": client is None},
    )


def records_client(db: DbSession, clinic_id: int, client_id: int) -> Any:
    from pointillist.store.models import Client

    client = db.get(Client, client_id)
    return client if client is not None and client.clinic_id == clinic_id else None


def _bad_link(request: Request) -> Response:
    return render(
        request,
        "error.html",
        {
            "status": 404,
            "title": "Link not recognised",
            "detail": "this unsubscribe link is incomplete or was changed; open it from the "
            "e-mail again, or reply to the e-mail and ask the clinic",
        },
        status_code=404,
    )


# --- the client's timeline ----------------------------------------------------------------

#: How each outcome reads on a client's timeline.
TIMELINE_WORDS = {
    "sent": "sent",
    "failed": "not sent",
    "uncertain": "may have been sent",
    "cancelled": "cancelled",
    "skipped": "not sent",
}


def message_timeline(db: DbSession, page: Page, client_id: int) -> list[Any]:
    """The client's messages that went out or will not, as timeline entries."""
    from pointillist.web.pages.clients import TimelineEntry

    entries = []
    for message in outbox.messages_for_client(db, page.scope, client_id):
        if message.status not in TIMELINE_WORDS:
            continue
        channel = "E-mail" if message.channel == "email" else "SMS"
        kind = SHORT_KINDS.get(message.kind, message.kind)
        detail = message.subject or ""
        if message.status != "sent" and message.last_error:
            detail = f"{detail} ({message.last_error})" if detail else message.last_error
        if message.status == "sent" and message.recipient:
            detail = f"to {message.recipient}: {detail}"
        entries.append(
            TimelineEntry(
                message.sent_at or message.updated_at,
                "message",
                f"{channel} {TIMELINE_WORDS[message.status]}: {kind}",
                detail,
                href=f"/messages?status={message.status}" if page.can("manage_reminders") else None,
            )
        )
    return entries
