"""Fixtures for the API tests: an app on the root fixtures' database, and two clinics.

``world`` seeds two clinics, A and B, each with an owner, a practitioner and a front-desk
user (each with an API token), a licensed practitioner, a client with a consultation, a
plan, an unsigned consent, a photo, a simulation, a pigment bottle, two planned sessions
and a reminder, all through the store's own functions. Tests then act as clinic A's
users against clinic B's records and the other way round.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import pytest
from fastapi.testclient import TestClient
from PIL import Image

PASSWORD = "correct horse battery staple"


@cache
def password_hash() -> str:
    # argon2 is slow on purpose: hash once for the whole run.
    from pointillist.store.accounts import hash_password

    return hash_password(PASSWORD)


def png_bytes(
    width: int = 64, height: int = 48, colour: tuple[int, int, int] = (180, 140, 120)
) -> bytes:
    """A small PNG with some texture (the safe loader refuses nothing about it)."""
    image = Image.new("RGB", (width, height), colour)
    for x in range(0, width, 4):
        image.putpixel((x, x % height), (20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class ClinicWorld:
    """Ids and tokens of one seeded clinic."""

    clinic_id: int
    tokens: dict[str, str]  # role -> bearer token
    emails: dict[str, str]  # role -> e-mail
    ids: dict[str, int] = field(default_factory=dict)
    lot: str = ""
    output_name: str = "preview.png"

    def auth(self, role: str = "owner") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def seed_clinic(
    db, photo_store, tag: str, *, clinic_licence_expires: date | None = None
) -> ClinicWorld:
    from pointillist.domain import load_policy
    from pointillist.store import accounts, clinic, records, sessions
    from pointillist.store.models import ConsentTemplate, User
    from pointillist.store.scope import Scope

    today = date.today()
    new_clinic = clinic.create_clinic(
        db,
        f"Clinic {tag}",
        licence_number=f"LIC-{tag}",
        licence_authority="City health department",
        licence_expires_on=clinic_licence_expires or today + timedelta(days=365),
    )
    db.flush()
    operator = Scope.operator(new_clinic.id)
    # Open every day, so that bookings a fixed number of days ahead never land on a closed
    # weekday whatever day the tests run (the calendar rules have their own tests).
    clinic.update_clinic_settings(db, operator, load_policy(), {"closed_weekdays": []})
    tokens, emails, users = {}, {}, {}
    for role in ("owner", "practitioner", "front-desk"):
        email = f"{role}@{tag.lower()}.example"
        user = User(
            clinic_id=new_clinic.id,
            email=email,
            name=f"{role} {tag}",
            role=role,
            password_hash=password_hash(),
        )
        db.add(user)
        db.flush()
        tokens[role], _ = accounts.issue_token(db, operator, user.id, f"{role} tests")
        emails[role] = email
        users[role] = user
    _, spare = accounts.issue_token(db, operator, users["owner"].id, "spare")
    owner = Scope.for_user(users["owner"])
    practitioner = clinic.create_practitioner(
        db,
        owner,
        name=f"Practitioner {tag}",
        licence_number=f"P-{tag}",
        licence_expires_on=today + timedelta(days=365),
        experience_tier="senior",
        user_id=users["practitioner"].id,
    )
    client = records.create_client(
        db, owner, name=f"Client {tag}", email=f"client@{tag.lower()}.example", notes="keloid?"
    )
    consultation = records.add_consultation(
        db,
        owner,
        client.id,
        answers={"pattern": "norwood-3"},
        screening={"outcome": "proceed"},
        rules_version="test",
    )
    plan = records.add_plan(
        db,
        owner,
        client.id,
        snapshot={
            "quote": None,
            "sessions": [
                {
                    "number": 1,
                    "days": [{"date": (today + timedelta(60)).isoformat(), "minutes": 240}],
                }
            ],
        },
        consultation_id=consultation.id,
    )
    template_id = (
        db.query(ConsentTemplate.id).filter_by(clinic_id=new_clinic.id, name="treatment").scalar()
    )
    consent = records.prepare_consent(db, owner, client.id, template_id=template_id)
    photo = records.add_photo(
        db,
        owner,
        photo_store,
        client.id,
        png_bytes(colour=(150 + ord(tag[0]), 120, 100)),
        kind="top",
    )
    simulation = records.add_simulation(
        db,
        owner,
        photo_store,
        client.id,
        parameters={"density": 0.7},
        outputs={"preview.png": png_bytes(colour=(ord(tag[0]), 90, 90))},
        photo_id=photo.id,
    )
    lot = f"LOT-{tag}"
    bottle = sessions.add_bottle(
        db, owner, brand="Brand", shade="Dark", lot=lot, expires_on=today + timedelta(days=400)
    )
    session_1 = sessions.book_session(
        db, owner, client.id, practitioner_id=practitioner.id, scheduled_on=today
    )
    session_2 = sessions.book_session(
        db, owner, client.id, practitioner_id=practitioner.id, scheduled_on=today + timedelta(30)
    )
    reminder = sessions.add_reminder(
        db, owner, client.id, kind="aftercare", due_on=today, message="No sauna for 4 weeks."
    )
    db.commit()
    return ClinicWorld(
        clinic_id=new_clinic.id,
        tokens=tokens,
        emails=emails,
        lot=lot,
        ids={
            "user_id": users["front-desk"].id,
            "owner_id": users["owner"].id,
            "token_id": spare.id,
            "practitioner_id": practitioner.id,
            "client_id": client.id,
            "consultation_id": consultation.id,
            "plan_id": plan.id,
            "template_id": template_id,
            "consent_id": consent.id,
            "photo_id": photo.id,
            "simulation_id": simulation.id,
            "bottle_id": bottle.id,
            "session_id": session_1.id,
            "session_2_id": session_2.id,
            "reminder_id": reminder.id,
        },
    )


@pytest.fixture
def app(settings, clean_database):
    from pointillist.web import create_app

    return create_app(settings)


@pytest.fixture
def api(app):
    # https: the session cookie is Secure, so the test client only sends it back over TLS.
    with TestClient(app, base_url="https://testserver") as client:
        yield client


@dataclass
class World:
    a: ClinicWorld
    b: ClinicWorld


@pytest.fixture
def world(app, db) -> World:
    store = app.state.photo_store
    return World(a=seed_clinic(db, store, "A"), b=seed_clinic(db, store, "B"))
