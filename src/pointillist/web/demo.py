"""The demo clinic ``make run`` opens: staff who can sign in, pigment stock, clients with
public-domain photos, and for one client a consultation, a plan, its first session done
(signed consent, lot recorded) and a saved preview.

Everything comes from ``data/demo.toml`` and the photos in ``data/demo/`` (credits in
``data/demo/CREDITS.md``), through the same store functions the app uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pointillist.data import load_table
from pointillist.domain import load_policy as load_consultation_policy
from pointillist.store import clinic as clinics
from pointillist.store import records
from pointillist.store import sessions as booking
from pointillist.store.db import session_scope
from pointillist.store.models import Client, Clinic
from pointillist.store.photos import PhotoStore
from pointillist.store.scope import Scope

DEMO_CREDIT = "Official portrait, public domain (US federal government work)"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


def demo_table() -> dict[str, Any]:
    """The demo clinic's description (``data/demo.toml``)."""
    return load_table("demo")


def demo_photo(name: str) -> bytes:
    """The bytes of a packaged demo photo."""
    return (resources.files("pointillist.data") / "demo" / name).read_bytes()


def demo_logins() -> list[DemoLogin]:
    table = demo_table()
    password = str(table["logins"]["password"])
    return [DemoLogin(u["role"], u["email"], password) for u in table["users"]]


def seed_demo_clinic(
    factory: sessionmaker[Session], photos: PhotoStore, *, seal_key: bytes, preview: bool = True
) -> bool:
    """Open the demo clinic unless it exists; return True if it was created now.

    ``seal_key`` (``Settings.integrity_key()``) seals the demo client's signed consent.
    ``preview`` renders the saved preview of the first client (a few seconds); the
    end-to-end tests leave it out.
    """
    table = demo_table()
    with session_scope(factory) as db:
        name = str(table["clinic"]["name"])
        if db.scalar(select(Clinic.id).where(Clinic.name == name)) is not None:
            return False
        today = date.today()
        clinic = clinics.create_clinic(
            db,
            name,
            licence_number=table["clinic"]["licence_number"],
            licence_authority=table["clinic"]["licence_authority"],
            licence_expires_on=today + timedelta(days=int(table["clinic"]["licence_valid_days"])),
        )
        operator = Scope.operator(clinic.id)
        practitioner_id = None
        for entry in table["users"]:
            user = clinics.create_user(
                db,
                operator,
                email=entry["email"],
                name=entry["name"],
                role=entry["role"],
                password=str(table["logins"]["password"]),
            )
            licence = entry.get("practitioner")
            if licence is not None:
                practitioner_id = clinics.create_practitioner(
                    db,
                    operator,
                    name=entry["name"],
                    licence_number=licence["licence_number"],
                    licence_expires_on=today + timedelta(days=int(licence["licence_valid_days"])),
                    experience_tier=licence["experience_tier"],
                    user_id=user.id,
                ).id
        bottles = {
            str(entry["lot"]): booking.add_bottle(
                db,
                operator,
                brand=entry["brand"],
                shade=entry["shade"],
                lot=entry["lot"],
                expires_on=today + timedelta(days=int(entry["expires_in_days"])),
                opened_on=(
                    today - timedelta(days=int(entry["opened_days_ago"]))
                    if "opened_days_ago" in entry
                    else None
                ),
                today=today,
            ).id
            for entry in table.get("stock", [])
        }
        for entry in table["clients"]:
            _demo_client(
                db,
                operator,
                photos,
                entry,
                practitioner_id,
                _Seeding(bottles, seal_key, today),
                preview=preview,
            )
    return True


@dataclass(frozen=True)
class _Seeding:
    """What recording the demo's completed session needs: the stock's bottle ids by lot,
    the consent seal key, and the day the demo is opened."""

    bottles: dict[str, int]
    seal_key: bytes
    today: date


def _demo_client(
    db: Session,
    scope: Scope,
    photos: PhotoStore,
    entry: dict[str, Any],
    practitioner_id: int | None,
    seeding: _Seeding,
    *,
    preview: bool,
) -> None:
    # Imported here: the routers import the app package, which imports this module's.
    from pointillist.web.routers.consultations import ConsultationIn, keep_consultation

    client = records.create_client(
        db,
        scope,
        name=entry["name"],
        email=entry["email"],
        phone=entry["phone"],
        notes=entry["notes"],
    )
    data = demo_photo(entry["photo"])
    photo = records.add_photo(db, scope, photos, client.id, data, kind="front")
    if "answers" not in entry:
        return
    first = entry.get("first_session")
    consulted = seeding.today - timedelta(days=int(entry.get("consulted_days_ago", 0)))
    consultation, plan = keep_consultation(
        db,
        scope,
        load_consultation_policy(),
        client.id,
        ConsultationIn(
            answers=dict(entry["answers"]),
            practitioner_id=practitioner_id,
            consultation_date=consulted,
            start=seeding.today - timedelta(days=int(first["days_ago"])) if first else None,
        ),
    )
    # Recorded on the day of the consultation, as the clinic would have: the plan page,
    # the timeline and the handout date them by when they were recorded, and a plan
    # "of today" with its first session done ten days ago would read wrong.
    consultation.created_at = plan.created_at = datetime.combine(consulted, time(10, 0)).astimezone(
        UTC
    )
    db.flush()
    if first is not None and practitioner_id is not None:
        _demo_first_session(db, scope, client, plan.snapshot, practitioner_id, first, seeding)
    if preview:
        _demo_preview(db, scope, photos, client.id, photo.id, data, entry["preview"])


def _demo_first_session(
    db: Session,
    scope: Scope,
    client: Client,
    plan: dict[str, Any],
    practitioner_id: int,
    options: dict[str, Any],
    seeding: _Seeding,
) -> None:
    """The plan's first session, done: booked on its first day on its own (so the plan's
    later days stay on the handout as still to book), consent signed that morning, the
    lot recorded, completed."""
    [day, *_] = plan["sessions"][0]["days"]
    on, start = date.fromisoformat(day["date"]), time.fromisoformat(options["start"])
    treated = booking.book_session(
        db,
        scope,
        client.id,
        practitioner_id=practitioner_id,
        scheduled_on=on,
        start_time=start,
        duration_minutes=int(day["minutes"]),
        zones=[zone["key"] for zone in plan["area"]["zones"]],
        needle=options["needle"],
    )
    records.record_signed_consent(
        db,
        scope,
        client.id,
        template_id=records.latest_template(db, scope, scope.policy.required_consent).id,
        signer_name=client.name,
        signer_ip=None,
        seal_key=seeding.seal_key,
        signed_at=datetime.combine(on, start).astimezone() - timedelta(minutes=15),
    )
    booking.record_session_details(db, scope, treated.id, notes=options["notes"])
    booking.record_bottles(db, scope, treated.id, [seeding.bottles[options["lot"]]])
    booking.complete_session(db, scope, treated.id, today=seeding.today)


def _demo_preview(
    db: Session,
    scope: Scope,
    photos: PhotoStore,
    client_id: int,
    photo_id: int,
    data: bytes,
    options: dict[str, Any],
) -> None:
    from pointillist.imaging.io import encode_jpeg
    from pointillist.imaging.simulate import simulate

    sessions, seed = int(options["sessions"]), int(options["seed"])
    result = simulate(data, sessions=sessions, seed=seed)
    assert result.before_after is not None
    records.add_simulation(
        db,
        scope,
        photos,
        client_id,
        parameters={"sessions": sessions, "seed": seed, "years": result.years, "source": "demo"},
        outputs={
            "before_after.jpg": encode_jpeg(result.before_after),
            f"session_{sessions}.jpg": encode_jpeg(result.session_images[-1]),
        },
        photo_id=photo_id,
    )
