"""The demo clinic's messages (``make run``): e-mail to a test mail server on this machine
(``data/demo.toml`` ``[messaging]``) and an appointment about 23 hours ahead, whose
reminder and calendar invitation the worker sends as soon as the demo starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.messaging.config import update_settings
from pointillist.store.db import session_scope
from pointillist.store.models import Client, Clinic, MessagingSettings, Practitioner
from pointillist.store.scope import Scope
from pointillist.store.sessions import book_session


def local_zone_name() -> str:
    """This machine's IANA time zone (from /etc/localtime), or UTC."""
    try:
        target = Path("/etc/localtime").resolve()
    except OSError:
        return "UTC"
    parts = target.parts
    if "zoneinfo" in parts:
        return "/".join(parts[parts.index("zoneinfo") + 1 :]) or "UTC"
    return "UTC"


def set_up_demo_messages(
    factory: sessionmaker[Session], public_url: str, mail_port: int | None = None
) -> bool:
    """Give the demo clinic its mail settings and an appointment within 24 hours, once;
    True if done now (a clinic whose owner already set messages up is left alone)."""
    demo = load_table("demo")
    table = demo["messaging"]
    with session_scope(factory) as db:
        clinic_id = db.scalar(select(Clinic.id).where(Clinic.name == demo["clinic"]["name"]))
        if clinic_id is None or db.get(MessagingSettings, clinic_id) is not None:
            return False
        operator = Scope.operator(clinic_id)
        update_settings(
            db,
            operator,
            {
                "email_enabled": True,
                "smtp_host": table["smtp_host"],
                "smtp_port": str(mail_port or table["smtp_port"]),
                "smtp_security": table["smtp_security"],
                "from_address": table["from_address"],
                "public_url": public_url,
                "timezone": local_zone_name(),
            },
        )
        _book_tomorrow(db, operator, table)
    return True


def _book_tomorrow(db: Session, operator: Scope, table: dict[str, Any]) -> None:
    # Names are encrypted: matched here, not by the database.
    client_id = next(
        (
            client.id
            for client in db.scalars(select(Client).where(Client.clinic_id == operator.clinic_id))
            if client.name == table["appointment_client"]
        ),
        None,
    )
    practitioner_id = db.scalar(
        select(Practitioner.id).where(Practitioner.clinic_id == operator.clinic_id)
    )
    if client_id is None or practitioner_id is None:
        return
    # In the machine's local time, as the clinic's time zone is set to it; on a quarter hour.
    start = datetime.now() + timedelta(hours=float(table["appointment_in_hours"]))
    start = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
    try:
        book_session(
            db,
            operator,
            client_id,
            practitioner_id=practitioner_id,
            scheduled_on=start.date(),
            start_time=start.time(),
            duration_minutes=int(table["appointment_minutes"]),
        )
    except PointillistError:
        # The demo practitioner is busy then (the demo was reset by hand): no appointment.
        return
