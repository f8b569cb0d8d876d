"""A real SMTP server in the test process (aiosmtpd), an HTTP receiver for the SMS
webhook, and a clinic set up to send to them.

``smtp_server`` collects every message it accepts (``.messages``, parsed with the
standard library's e-mail parser); ``hold()`` makes it wait before answering the data,
so a test can kill a worker mid-send.
"""

from __future__ import annotations

import asyncio
import email
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

ZONE = "Europe/Amsterdam"
SECRET = "test secret key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Collector:
    """An aiosmtpd handler that keeps what arrives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.data_started = threading.Event()
        self._release = threading.Event()
        self._release.set()

    def hold(self) -> None:
        """Answer the next data only after :meth:`release`."""
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.data_started.set()
        await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 30)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    handler: Collector

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on a free loopback port, for as long as the block runs."""
    from aiosmtpd.controller import Controller

    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, handler)
    finally:
        handler.release()
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@dataclass
class Webhook:
    url: str
    requests: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def sms_receiver() -> Iterator[Webhook]:
    """A tiny HTTP server standing in for an SMS provider: keeps each POST's headers and
    JSON body, and answers ``status``."""
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            hook.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(hook.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": "sms-1"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Clinic:
    clinic_id: int
    practitioner_id: int
    client_id: int
    owner: Any

    def factory(self, engine: Any) -> Any:
        from pointillist.store.db import session_factory

        return session_factory(engine, keys=CLIENT_KEYS[0])


def make_clinic(db, smtp_port: int, *, email_enabled: bool = True) -> Clinic:
    from pointillist.messaging.config import update_settings
    from pointillist.store.clinic import create_clinic, create_practitioner
    from pointillist.store.records import create_client
    from pointillist.store.scope import Scope

    clinic = create_clinic(
        db,
        "Studio Noord",
        licence_number="NL-1",
        licence_expires_on=date.today() + timedelta(days=3650),
    )
    owner = Scope.operator(clinic.id)
    practitioner = create_practitioner(
        db,
        owner,
        name="Priya Practitioner",
        licence_number="P-1",
        licence_expires_on=date.today() + timedelta(days=3650),
    )
    client = create_client(
        db, owner, name="Sam Rivera", email="sam@example.com", phone="+31 6 1234 5678"
    )
    update_settings(
        db,
        owner,
        {
            "email_enabled": email_enabled,
            "smtp_host": "127.0.0.1",
            "smtp_port": str(smtp_port),
            "smtp_security": "none",
            "from_address": "Studio Noord <studio@noord.example>",
            "public_url": "https://studio.example",
            "timezone": ZONE,
        },
    )
    db.commit()
    return Clinic(clinic.id, practitioner.id, client.id, owner)


@pytest.fixture
def clinic(db, smtp_server) -> Clinic:
    return make_clinic(db, smtp_server.port)


def book(
    db,
    clinic: Clinic,
    on: date,
    at: time | None = time(10, 0),
    minutes: int = 240,
    client_id: int | None = None,
):
    from pointillist.store.sessions import book_session

    booked = book_session(
        db,
        clinic.owner,
        client_id or clinic.client_id,
        practitioner_id=clinic.practitioner_id,
        scheduled_on=on,
        start_time=at,
        duration_minutes=minutes,
    )
    db.commit()
    return booked


#: The client key file of the test's data directory (the ``db`` fixture's), for the
#: sessions the messaging tests open themselves.
CLIENT_KEYS: list[Any] = [None]


@pytest.fixture(autouse=True)
def _client_keys(tmp_path):
    from pointillist.store.client_keys import KeyFile

    CLIENT_KEYS[0] = KeyFile(tmp_path / "data" / "client_keys")
    yield
    CLIENT_KEYS[0] = None
