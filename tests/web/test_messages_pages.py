"""The Messages page, the clinic's message settings and the unsubscribe link, against the
worker and a real SMTP server."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update
from tests.messaging.conftest import free_port, running_smtp_server
from tests.web.conftest import PASSWORD

from pointillist.messaging.worker import Worker
from pointillist.store.client_keys import KeyFile
from pointillist.store.db import session_factory
from pointillist.store.models import Client, MessagingSettings, OutboxMessage, Reminder

TOMORROW = date.today() + timedelta(days=1)


@pytest.fixture
def smtp_server():
    with running_smtp_server() as server:
        yield server


def sign_in(api, email: str) -> str:
    api.post("/sign-in", data={"email": email, "password": PASSWORD})
    return api.cookies["pointillist_csrf"]


def set_up_mail(api, token: str, port: int, **extra: str):
    data = {
        "csrf_token": token,
        "email_enabled": "on",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(port),
        "smtp_security": "none",
        "from_address": "Clinic A <a@clinic.example>",
        "public_url": "https://testserver",
        "timezone": "UTC",
        **extra,
    }
    return api.post("/clinic/messages", data=data, follow_redirects=False)


def book_tomorrow(db, world, client_id: int | None = None):
    from pointillist.store.scope import Scope
    from pointillist.store.sessions import book_session

    booked = book_session(
        db,
        Scope.operator(world.a.clinic_id),
        client_id or world.a.ids["client_id"],
        practitioner_id=world.a.ids["practitioner_id"],
        scheduled_on=TOMORROW,
        start_time=time(9, 0),
        duration_minutes=60,
    )
    db.commit()
    return booked


def run_worker(app, settings):
    """One pass of the worker an hour before tomorrow's 09:00 appointment (UTC, the
    clinic's zone here): today's seeded session has begun by then, so only that
    appointment's reminder, and what a test adds, is due."""
    at = datetime.combine(TOMORROW, time(8, 0), tzinfo=UTC)
    worker = Worker(
        session_factory(app.state.engine, keys=KeyFile(settings.client_keys_file)),
        settings.secret_key(),
        clock=lambda: at,
    )
    return worker.run_pass()


def quiet(db):
    """The seeded world's reminders count as sent, so that they stay out of the way."""
    db.execute(update(Reminder).values(sent_at=datetime.now(UTC)))
    db.commit()


def test_the_owner_sets_up_mail_and_the_password_is_never_shown(api, world, db):
    token = sign_in(api, world.a.emails["owner"])
    saved = set_up_mail(api, token, 2525, smtp_user="mailer", smtp_password="s3cret-pass!")
    assert saved.status_code == 303
    page = api.get("/clinic/messages")
    assert page.status_code == 200 and "s3cret-pass!" not in page.text
    assert "A password is saved (not shown)" in page.text
    assert 'value="mailer"' in page.text
    # Saving again without typing it keeps it.
    assert set_up_mail(api, token, 2525, smtp_user="mailer").status_code == 303
    db.expire_all()
    assert db.get(MessagingSettings, world.a.clinic_id).smtp_password == "s3cret-pass!"


def test_a_template_that_does_not_render_is_refused_on_the_page_with_what_was_typed(api, world):
    token = sign_in(api, world.a.emails["owner"])
    bad = "Hello {{ client_nme }}"
    refused = set_up_mail(api, token, 2525, **{"tpl-appointment-subject": bad})
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "the subject of the appointment message does not render" in text
    assert "client_nme" in text and f'value="{bad}"' in text
    broken = set_up_mail(api, token, 2525, **{"tpl-aftercare-html": "{% for x in %}"})
    assert broken.status_code == 422 and "HTML body of the aftercare message" in html.unescape(
        broken.text
    )
    bad_port = set_up_mail(api, token, 99999)
    assert bad_port.status_code == 422 and "is not a TCP port" in bad_port.text
    bad_json = set_up_mail(api, token, 2525, sms_body_template='{"to": {{ to }}}')
    assert bad_json.status_code == 422 and "does not make JSON" in html.unescape(bad_json.text)


def test_the_front_desk_sees_failures_and_retries_or_cancels_them(api, world, db, app, settings):
    owner_token = sign_in(api, world.a.emails["owner"])
    set_up_mail(api, owner_token, free_port())  # nothing listens there
    quiet(db)
    book_tomorrow(db, world)
    run_worker(app, settings)
    api.cookies.clear()
    token = sign_in(api, world.a.emails["front-desk"])
    page = api.get("/messages")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "connection refused" in text and "Retry now" in text and "Due (1)" in text
    message = db.scalar(select(OutboxMessage))
    later = message.next_attempt_at
    db.commit()  # end the read: SQLite's write lock is taken by every transaction
    retried = api.post(
        f"/messages/{message.id}/retry", data={"csrf_token": token}, follow_redirects=False
    )
    assert retried.status_code == 303
    db.expire_all()
    assert db.get(OutboxMessage, message.id).next_attempt_at < later
    db.commit()
    api.post(f"/messages/{message.id}/cancel", data={"csrf_token": token})
    db.expire_all()
    assert db.get(OutboxMessage, message.id).status == "cancelled"
    db.commit()
    again = api.post(f"/messages/{message.id}/cancel", data={"csrf_token": token})
    assert again.status_code == 409 and "only a due, failed or uncertain" in again.text
    resent = api.post(f"/messages/{message.id}/retry", data={"csrf_token": token})
    assert resent.status_code == 409
    assert "only a due, failed or uncertain message can be sent again" in resent.text
    # Clinic B's staff cannot touch clinic A's messages.
    api.cookies.clear()
    other = sign_in(api, world.b.emails["owner"])
    assert api.post(f"/messages/{message.id}/retry", data={"csrf_token": other}).status_code == 404


def test_the_unsubscribe_link_stops_further_mail_and_shows_on_the_timeline(
    api, world, db, app, settings, smtp_server
):
    token = sign_in(api, world.a.emails["owner"])
    set_up_mail(api, token, smtp_server.port)
    quiet(db)
    book_tomorrow(db, world)
    run_worker(app, settings)
    [mail] = smtp_server.messages
    link = mail["List-Unsubscribe"].strip("<>")
    path = link.removeprefix("https://testserver")
    assert path in mail.get_body(preferencelist=("plain",)).get_content()

    api.cookies.clear()  # the client is not signed in
    page = api.get(path)
    assert page.status_code == 200 and "Stop e-mails from the clinic?" in page.text
    forged = api.post(path[:-1] + ("0" if path[-1] != "0" else "1"))
    assert forged.status_code == 404
    # What a mail program's one-click unsubscribe posts (RFC 8058).
    done = api.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    db.expire_all()
    client = db.get(Client, world.a.ids["client_id"])
    assert client.email_consent is False and client.email_opted_out_at is not None
    db.commit()

    from pointillist.store.scope import Scope
    from pointillist.store.sessions import add_reminder

    add_reminder(
        db,
        Scope.operator(world.a.clinic_id),
        client.id,
        kind="touch-up",
        due_on=date.today() - timedelta(days=1),
        message="Touch-up time.",
    )
    db.commit()
    run_worker(app, settings)
    assert len(smtp_server.messages) == 1
    skipped = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "touch-up"))
    assert skipped.status == "skipped" and "does not want e-mails" in skipped.last_error
    db.commit()

    sign_in(api, world.a.emails["front-desk"])
    timeline = html.unescape(api.get(f"/clients/{client.id}").text)
    assert "E-mail sent: Appointment reminder" in timeline
    assert "to client@a.example" in timeline and "Unsubscribed from e-mail" in timeline
    assert "E-mail not sent: Touch-up recall" in timeline


def test_staff_record_a_clients_message_consent(api, world, db):
    token = sign_in(api, world.a.emails["front-desk"])
    cid = world.a.ids["client_id"]
    saved = api.post(
        f"/clients/{cid}/messaging-consent",
        data={"csrf_token": token, "sms_consent": "on"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    db.expire_all()
    client = db.get(Client, cid)
    assert (client.email_consent, client.sms_consent) == (False, True)
