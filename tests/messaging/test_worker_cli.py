"""`pointillist worker` as a process: killed mid-send it never causes a second copy, and
Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from pointillist.messaging.config import timing
from pointillist.messaging.worker import Worker
from pointillist.store.db import session_factory
from pointillist.store.models import Client, OutboxMessage
from tests.messaging.conftest import CLIENT_KEYS, SECRET, ZONE, book


def worker_process(database_url: str, data_dir, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "POINTILLIST_DATA": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "pointillist", "worker", "--database-url", database_url, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_worker_killed_mid_send_never_sends_the_message_twice(
    db, database_url, data_dir, clinic, smtp_server
):
    soon = (datetime.now(ZoneInfo(ZONE)) + timedelta(hours=2)).replace(second=0, microsecond=0)
    book(db, clinic, soon.date(), soon.time().replace(tzinfo=None), minutes=60)
    smtp_server.handler.hold()
    process = worker_process(database_url, data_dir, "--once")
    try:
        assert smtp_server.handler.data_started.wait(60), process.communicate(timeout=5)
        # While the worker waits for the mail server, others can write (on SQLite the
        # worker holds no transaction, so no write lock, during the send).
        db.get(Client, clinic.client_id).notes = "written while the worker sends"
        db.commit()
        # The mail server has the message and has not answered yet: kill the worker now.
        process.kill()
        process.wait(30)
    finally:
        smtp_server.handler.release()
    [mail] = smtp_server.messages
    db.expire_all()
    [row] = db.scalars(select(OutboxMessage)).all()
    db.commit()  # let go of SQLite's write lock
    assert row.status == "sending" and row.message_id == mail["Message-ID"]

    # A worker started again before the lease ends leaves it alone ...
    restarted = worker_process(database_url, data_dir, "--once")
    assert restarted.wait(60) == 0, restarted.stderr.read() if restarted.stderr else ""
    # ... and once it has ended, marks it uncertain, and does not send it again.
    later = datetime.now(UTC) + timedelta(seconds=timing().lease_seconds + 1)
    engine = db.get_bind()
    outcome = Worker(
        session_factory(engine, keys=CLIENT_KEYS[0]), SECRET, clock=lambda: later
    ).run_pass()
    assert outcome["uncertain"] == 1 and outcome["sent"] == 0
    assert len(smtp_server.messages) == 1
    db.expire_all()
    [row] = db.scalars(select(OutboxMessage)).all()
    assert row.status == "uncertain" and "may have gone out" in row.last_error


def test_ctrl_c_stops_the_worker_cleanly(database_url, data_dir, clean_database):
    process = worker_process(database_url, data_dir)
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "sending due messages every" in line, line
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0
    rest = process.stderr.read()
    assert "stopping after the message in hand" in rest and "stopped" in rest
    assert "Traceback" not in rest


def test_a_worker_on_an_unmigrated_database_says_what_to_do(empty_database_url, data_dir):
    process = worker_process(empty_database_url(), data_dir, "--once")
    assert process.wait(60) == 2
    assert process.stderr is not None
    message = process.stderr.read()
    assert (
        message.startswith("error: the database is at schema none")
        and "pointillist serve" in message
    )
