"""The issue's "done when": after `make run` (the demo clinic) a booked appointment
produces an e-mail with a calendar invitation on a local SMTP server."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.messaging.conftest import ZONE, running_smtp_server
from tests.web.test_serve import running_server


def test_the_demo_clinic_sends_an_appointment_reminder_with_an_invitation(tmp_path):
    with running_smtp_server() as smtp:
        args = ["--no-preview", "--data", str(tmp_path / "demo"), "--mail-port", str(smtp.port)]
        with running_server(args, tmp_path / "unused", command=("demo-clinic",)):
            deadline = time.monotonic() + 60
            while not smtp.messages and time.monotonic() < deadline:
                time.sleep(0.2)
        [mail] = smtp.messages
    assert mail["To"] == "Jordan Ellis <jordan.ellis@example.com>"
    assert mail["Subject"].startswith("Your appointment at Demo SMP Studio on ")
    [invitation] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(invitation.get_payload(decode=True)).walk("VEVENT")
    assert str(event["summary"]) == "SMP session at Demo SMP Studio"
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=90)


def test_serve_with_worker_sends_what_is_due(tmp_path):
    from pointillist.store.client_keys import KeyFile
    from pointillist.store.db import make_engine, session_factory
    from pointillist.store.migrate import upgrade_to_head
    from tests.messaging.conftest import book, make_clinic

    data_dir = tmp_path / "clinic"
    url = f"sqlite:///{data_dir / 'pointillist.sqlite3'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    with running_smtp_server() as smtp:
        with session_factory(engine, keys=KeyFile(data_dir / "client_keys"))() as db:
            clinic = make_clinic(db, smtp.port)
            soon = datetime.now(ZoneInfo(ZONE)) + timedelta(hours=3)
            book(db, clinic, soon.date(), soon.time().replace(second=0, microsecond=0, tzinfo=None))
        engine.dispose()
        with running_server(["--with-worker"], data_dir):
            deadline = time.monotonic() + 60
            while not smtp.messages and time.monotonic() < deadline:
                time.sleep(0.2)
        [mail] = smtp.messages
    assert mail["To"] == "Sam Rivera <sam@example.com>"
