"""The worker against a real SMTP server (aiosmtpd) and a real database (SQLite and
PostgreSQL): what arrives, when, and that it arrives once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from pointillist.messaging.worker import Worker
from pointillist.store.db import make_engine, session_factory
from pointillist.store.models import OutboxMessage, Reminder
from tests.messaging.conftest import CLIENT_KEYS, SECRET, ZONE, book, free_port, make_clinic

TOMORROW = date.today() + timedelta(days=1)


class Clock:
    """A clock the test moves."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(ZONE))


def worker(engine, clock, name: str = "w1") -> Worker:
    return Worker(session_factory(engine, keys=CLIENT_KEYS[0]), SECRET, clock=clock, name=name)


def rows(db) -> list[OutboxMessage]:
    db.expire_all()
    found = list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    # End the read: on SQLite every transaction holds the write lock (BEGIN IMMEDIATE),
    # which the worker would wait for. The rows stay loaded (expire_on_commit=False).
    db.commit()
    return found


def attachment(message, content_type: str) -> bytes:
    for part in message.iter_attachments():
        if part.get_content_type() == content_type:
            return part.get_payload(decode=True)
    raise AssertionError(f"no {content_type} attachment")


def test_an_appointment_reminder_arrives_24_hours_before_with_its_invitation(
    db, engine, clinic, smtp_server
):
    booked = book(db, clinic, TOMORROW, time(10, 30), minutes=240)
    start = local(TOMORROW, time(10, 30))
    clock = Clock(start - timedelta(hours=25))
    assert worker(engine, clock).run_pass()["sent"] == 0
    assert smtp_server.messages == []

    clock.at = start - timedelta(hours=23)
    assert worker(engine, clock).run_pass()["sent"] == 1
    [mail] = smtp_server.messages
    assert smtp_server.handler.envelopes == [("studio@noord.example", ["sam@example.com"])]
    assert mail["Subject"] == f"Your appointment at Studio Noord on {start:%A %d %B %Y} at 10:30"
    assert mail["To"] == "Sam Rivera <sam@example.com>"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Hello Sam Rivera" in text and "with Priya Practitioner" in text
    assert "240 minutes" in text and "<strong>" in html
    assert mail["List-Unsubscribe"].startswith("<https://studio.example/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    invitation = Calendar.from_ical(attachment(mail, "text/calendar"))
    assert str(invitation["method"]) == "REQUEST"
    [event] = invitation.walk("VEVENT")
    assert event.decoded("dtstart") == start.astimezone(UTC)
    assert event.decoded("dtend") == (start + timedelta(minutes=240)).astimezone(UTC)
    assert str(event["attendee"]) == "mailto:sam@example.com"
    assert str(event["organizer"]) == "mailto:studio@noord.example"
    assert str(event["uid"]) == f"session-{booked.id}-clinic-{clinic.clinic_id}@pointillist"

    [row] = rows(db)
    assert (row.kind, row.channel, row.status, row.attempts) == ("appointment", "email", "sent", 1)
    assert row.message_id == mail["Message-ID"] and row.recipient == "sam@example.com"


def test_a_moved_appointment_is_reminded_at_its_new_time_and_a_cancelled_one_not(
    db, engine, clinic, smtp_server
):
    from pointillist.store.sessions import cancel_session, reschedule_session

    booked = book(db, clinic, TOMORROW, time(10, 0))
    other = book(db, clinic, TOMORROW, time(16, 0))
    start = local(TOMORROW, time(10, 0))
    clock = Clock(start - timedelta(hours=23))
    cancel_session(db, clinic.owner, other.id)
    db.commit()
    worker(engine, clock).run_pass()
    reschedule_session(db, clinic.owner, booked.id, start_time=time(11, 0))
    db.commit()
    clock.at = start - timedelta(hours=22)
    worker(engine, clock).run_pass()
    assert [m["Subject"].rsplit(" at ", 1)[1] for m in smtp_server.messages] == ["10:00", "11:00"]
    invitations = [
        Calendar.from_ical(attachment(m, "text/calendar")).walk("VEVENT")[0]
        for m in smtp_server.messages
    ]
    # Same event, a higher sequence: the client's calendar moves it instead of adding one.
    assert invitations[0]["uid"] == invitations[1]["uid"]
    assert [int(e["sequence"]) for e in invitations] == [0, 1]


def test_aftercare_goes_the_day_after_and_the_end_of_the_restrictions_when_they_end(
    db, engine, clinic, smtp_server
):
    from pointillist.store.sessions import _schedule_follow_ups

    day = date.today() - timedelta(days=40)
    treated = book(db, clinic, day, time(10, 0))
    book(db, clinic, day + timedelta(days=14), time(10, 0))  # the next session of the course
    treated.status = "completed"
    _schedule_follow_ups(db, clinic.owner, treated)
    reminder = db.scalar(select(Reminder).where(Reminder.kind == "aftercare"))
    reminder.due_on = date.today()  # as if the session had been yesterday
    db.commit()
    clock = Clock(local(date.today(), time(8, 59)))
    worker(engine, clock).run_pass()
    assert smtp_server.messages == []  # aftercare goes at 09:00 local time
    clock.at = local(date.today(), time(9, 1))
    worker(engine, clock).run_pass()
    [aftercare] = smtp_server.messages
    assert aftercare["Subject"] == f"Aftercare after your session on {day:%A %d %B %Y}"
    text = aftercare.get_body(preferencelist=("plain",)).get_content()
    until = day + timedelta(days=4)
    assert f"until {until:%A %d %B}: no washing or wetting the scalp" in text
    assert "no saunas, swimming, hot showers, steam rooms" in text
    db.expire_all()
    assert db.get(Reminder, reminder.id).sent_at is not None


def test_the_end_of_the_restrictions_follows_the_last_session_of_the_course(
    db, engine, clinic, smtp_server
):
    from pointillist.store.models import TreatmentSession

    last = date.today() - timedelta(days=29)
    before = date.today() - timedelta(days=8)
    # The client's last session 29 days ago: the course window (28 days) ended yesterday.
    # Another client's session 8 days ago, with one more booked: its 7-day window ended.
    treated = book(db, clinic, last, time(10, 0))
    from pointillist.store.records import create_client

    other = create_client(db, clinic.owner, name="Alex Moreno", email="alex@example.com")
    db.flush()
    earlier = book(db, clinic, before, time(10, 0), client_id=other.id)
    book(db, clinic, date.today() + timedelta(days=6), time(10, 0), client_id=other.id)
    for done in (treated, earlier):
        db.get(TreatmentSession, done.id).status = "completed"
    db.commit()
    worker(engine, Clock(local(date.today(), time(9, 30)))).run_pass()
    by_client = {m["To"].addresses[0].addr_spec: m for m in smtp_server.messages}
    assert set(by_client) == {"sam@example.com", "alex@example.com"}
    course = by_client["sam@example.com"].get_body(preferencelist=("plain",)).get_content()
    assert by_client["sam@example.com"]["Subject"] == "Your aftercare restrictions end today"
    assert "saunas, swimming, hot showers, steam rooms" in course
    session_end = by_client["alex@example.com"].get_body(preferencelist=("plain",)).get_content()
    assert "shaving the scalp" in session_end and "saunas" not in session_end


def test_the_touch_up_recall_is_sent_once_and_an_old_one_is_skipped(
    db, engine, clinic, smtp_server
):
    from pointillist.store.sessions import add_reminder

    add_reminder(
        db,
        clinic.owner,
        clinic.client_id,
        kind="touch-up",
        due_on=date.today(),
        message="Book your touch-up.",
    )
    add_reminder(
        db,
        clinic.owner,
        clinic.client_id,
        kind="aftercare",
        due_on=date.today() - timedelta(days=10),
        message="Old aftercare.",
    )
    db.commit()
    for _ in range(2):
        worker(engine, Clock(local(date.today(), time(12, 0)))).run_pass()
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Time for your touch-up at Studio Noord"
    assert "Book your touch-up." in mail.get_body(preferencelist=("plain",)).get_content()
    statuses = sorted((r.kind, r.status) for r in rows(db))
    assert statuses == [("aftercare", "skipped"), ("touch-up", "sent")]
    skipped = next(r for r in rows(db) if r.status == "skipped")
    assert "too late" in skipped.last_error


def test_a_client_without_consent_or_address_gets_nothing_and_the_outbox_says_why(
    db, engine, clinic, smtp_server
):
    from pointillist.store.models import Client
    from pointillist.store.records import create_client

    db.get(Client, clinic.client_id).email_consent = False
    no_mail = create_client(db, clinic.owner, name="Jo Nomail")
    db.flush()
    book(db, clinic, TOMORROW, time(10, 0))
    book(db, clinic, TOMORROW, time(15, 0), client_id=no_mail.id)
    worker(engine, Clock(local(TOMORROW, time(9, 0)))).run_pass()
    assert smtp_server.messages == []
    reasons = sorted(r.last_error for r in rows(db))
    assert all(r.status == "skipped" for r in rows(db))
    assert "no e-mail address" in reasons[1] and "does not want e-mails" in reasons[0]


def test_nothing_is_sent_twice_after_a_restart(db, engine, clinic, smtp_server):
    book(db, clinic, TOMORROW, time(10, 0))
    clock = Clock(local(TOMORROW, time(9, 0)) - timedelta(hours=12))
    worker(engine, clock, "first").run_pass()
    # A new worker (a restart), a later pass, and the same worker again.
    clock.at += timedelta(minutes=10)
    worker(engine, clock, "second").run_pass()
    worker(engine, clock, "second").run_pass()
    assert len(smtp_server.messages) == 1
    assert len(rows(db)) == 1


def test_two_workers_at_once_send_each_message_once(db, database_url, clinic, smtp_server):
    from pointillist.store.records import create_client

    for n in range(11):
        other = create_client(db, clinic.owner, name=f"Client {n}", email=f"c{n}@example.com")
        db.flush()
        book(db, clinic, TOMORROW, time(8 + n // 2, 30 * (n % 2)), minutes=30, client_id=other.id)
    book(db, clinic, TOMORROW, time(18, 30), minutes=30)
    clock = Clock(local(TOMORROW, time(7, 0)) - timedelta(hours=2))
    engines = [make_engine(database_url) for _ in range(2)]
    go = threading.Barrier(2)
    outcomes = []

    def run(engine, name):
        go.wait()
        outcomes.append(worker(engine, clock, name).run_pass())

    threads = [threading.Thread(target=run, args=(e, f"w{i}")) for i, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    recipients = [m["To"].addresses[0].addr_spec for m in smtp_server.messages]
    assert len(recipients) == 12 and len(set(recipients)) == 12
    assert sum(o["sent"] for o in outcomes) == 12
    assert {r.status for r in rows(db)} == {"sent"}
    assert len(rows(db)) == 12


def test_a_refused_connection_backs_off_and_is_retried(db, engine, smtp_server):
    from pointillist.messaging.config import timing

    closed = free_port()
    clinic = make_clinic(db, closed)
    book(db, clinic, TOMORROW, time(10, 0))
    clock = Clock(local(TOMORROW, time(10, 0)) - timedelta(hours=20))
    first = clock.at
    worker(engine, clock).run_pass()
    [row] = rows(db)
    assert (row.status, row.attempts) == ("due", 1)
    assert "connection refused" in row.last_error
    delay = timing().first_delay_seconds
    assert row.next_attempt_at == first + timedelta(seconds=delay)

    clock.at = first + timedelta(seconds=delay / 2)
    worker(engine, clock).run_pass()
    assert rows(db)[0].attempts == 1  # not before its time

    clock.at = first + timedelta(seconds=delay)
    worker(engine, clock).run_pass()
    [row] = rows(db)
    assert row.attempts == 2
    assert row.next_attempt_at == clock.at + timedelta(seconds=delay * timing().factor)

    from pointillist.store.models import MessagingSettings

    db.get(MessagingSettings, clinic.clinic_id).smtp_port = smtp_server.port
    db.commit()
    clock.at = row.next_attempt_at
    worker(engine, clock).run_pass()
    assert rows(db)[0].status == "sent" and len(smtp_server.messages) == 1


def test_after_the_last_attempt_the_message_is_failed(db, engine, smtp_server):
    from dataclasses import replace

    from pointillist.messaging.config import timing

    clinic = make_clinic(db, free_port())
    book(db, clinic, TOMORROW, time(10, 0))
    clock = Clock(local(TOMORROW, time(10, 0)) - timedelta(hours=20))
    settings = replace(timing(), max_attempts=2)
    for _ in range(3):
        Worker(
            session_factory(engine, keys=CLIENT_KEYS[0]), SECRET, clock=clock, settings=settings
        ).run_pass()
        clock.at += timedelta(hours=1)
    [row] = rows(db)
    assert (row.status, row.attempts) == ("failed", 2)
    assert "gave up after 2 attempts" in row.last_error


def test_a_refused_recipient_fails_at_once(db, engine, clinic, smtp_server):
    from pointillist.store.models import Client

    db.get(Client, clinic.client_id).email = "nobody@refused.example"  # the server says 550
    db.commit()
    book(db, clinic, TOMORROW, time(10, 0))
    worker(engine, Clock(local(TOMORROW, time(9, 0)))).run_pass()
    [row] = rows(db)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "refused the recipient" in row.last_error


def test_sms_goes_through_the_clinics_webhook(db, engine, smtp_server, sms_receiver):
    from pointillist.messaging.config import update_settings

    clinic = make_clinic(db, smtp_server.port, email_enabled=False)
    update_settings(
        db,
        clinic.owner,
        {
            "sms_enabled": True,
            "sms_webhook_url": sms_receiver.url,
            "sms_auth_header": "Authorization: Bearer sms-key",
            "sms_body_template": (
                '{"recipient": {{ to|tojson }}, "message": {{ text|tojson }}, "sender": "Noord"}'
            ),
        },
    )
    db.commit()
    book(db, clinic, TOMORROW, time(10, 0))
    worker(engine, Clock(local(TOMORROW, time(9, 0)))).run_pass()
    [(headers, body)] = sms_receiver.requests
    assert headers["authorization"] == "Bearer sms-key"
    assert body["recipient"] == "+31 6 1234 5678" and body["sender"] == "Noord"
    assert "reminder of your appointment" in body["message"] and "10:00" in body["message"]
    assert smtp_server.messages == []
    [row] = rows(db)
    assert (row.channel, row.status) == ("sms", "sent")


def test_a_webhook_that_refuses_fails_the_sms_for_good(db, engine, smtp_server, sms_receiver):
    from pointillist.messaging.config import update_settings

    clinic = make_clinic(db, smtp_server.port, email_enabled=False)
    update_settings(db, clinic.owner, {"sms_enabled": True, "sms_webhook_url": sms_receiver.url})
    db.commit()
    sms_receiver.status = 401
    book(db, clinic, TOMORROW, time(10, 0))
    worker(engine, Clock(local(TOMORROW, time(9, 0)))).run_pass()
    [row] = rows(db)
    assert row.status == "failed" and "answered 401" in row.last_error


def test_a_clients_export_holds_their_messages_and_erasure_removes_them(
    db, engine, clinic, smtp_server, data_dir
):
    from pointillist.store.export import client_record, erase_client
    from pointillist.store.photos import PhotoStore

    photo_store = PhotoStore(data_dir / "photos", max_bytes=2**20, max_megapixels=4.0)

    book(db, clinic, TOMORROW, time(10, 0))
    worker(engine, Clock(local(TOMORROW, time(9, 0)))).run_pass()
    db.expire_all()
    record = client_record(db, clinic.owner, clinic.client_id)
    [message] = record["messages"]
    assert (message["kind"], message["status"]) == ("appointment", "sent")
    later = date.today() + timedelta(days=36500)  # past any retention period
    erase_client(db, clinic.owner, photo_store, clinic.client_id, today=later)
    db.commit()
    assert rows(db) == []
