"""A small clinic world for the store tests: two clinics, each with a practitioner,
a client and a bottle in stock, and scopes for each role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from pointillist.store.clinic import create_clinic, create_practitioner
from pointillist.store.models import Client, Clinic, PigmentBottle, Practitioner
from pointillist.store.photos import PhotoStore
from pointillist.store.records import create_client, latest_template
from pointillist.store.scope import Scope
from pointillist.store.sessions import add_bottle

TODAY = date.today()


@dataclass
class World:
    clinic: Clinic
    owner: Scope
    practitioner_scope: Scope
    front_desk: Scope
    practitioner: Practitioner
    client: Client
    bottle: PigmentBottle
    treatment_template_id: int


def make_world(db, name: str) -> World:
    clinic = create_clinic(
        db,
        name,
        licence_number=f"{name}-LIC",
        licence_authority="GGD",
        licence_expires_on=TODAY + timedelta(days=365),
    )
    owner = Scope(clinic_id=clinic.id, role="owner", user_id=None, actor=f"owner@{name}")
    practitioner = create_practitioner(
        db,
        owner,
        name=f"{name} Practitioner",
        licence_number="P-1",
        licence_expires_on=TODAY + timedelta(days=200),
    )
    client = create_client(db, owner, name=f"{name} Client", email=f"client@{name}.example")
    bottle = add_bottle(
        db,
        owner,
        brand="Ink Co",
        shade="Dark",
        lot=f"LOT-{name}",
        expires_on=TODAY + timedelta(days=300),
    )
    template = latest_template(db, owner, "treatment")
    db.flush()
    return World(
        clinic=clinic,
        owner=owner,
        practitioner_scope=Scope(clinic_id=clinic.id, role="practitioner", actor=f"p@{name}"),
        front_desk=Scope(clinic_id=clinic.id, role="front-desk", actor=f"desk@{name}"),
        practitioner=practitioner,
        client=client,
        bottle=bottle,
        treatment_template_id=template.id,
    )


@pytest.fixture
def clinic_a(db) -> World:
    world = make_world(db, "alpha")
    db.commit()
    return world


@pytest.fixture
def clinic_b(db) -> World:
    world = make_world(db, "beta")
    db.commit()
    return world


@pytest.fixture
def photo_store(data_dir) -> PhotoStore:
    return PhotoStore(data_dir / "photos", max_bytes=2 * 1024 * 1024, max_megapixels=4.0)


#: The consent-sealing key the store tests sign with (the server's lives in its data dir).
SEAL_KEY = b"test seal key"
