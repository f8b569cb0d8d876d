"""Tamper evidence: sealed consents, guard triggers, the append-only chained audit log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, pool, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pointillist.errors import PointillistError
from pointillist.store import audit
from pointillist.store.client_keys import KeyFile
from pointillist.store.db import make_engine, session_factory
from pointillist.store.export import erase_client
from pointillist.store.integrity import (
    consent_verified,
    missing_guards,
    require_guards,
    seal_audit_log,
    verify_audit_log,
)
from pointillist.store.migrate import upgrade_to_head
from pointillist.store.models import AuditEntry, Consent
from pointillist.store.photos import PhotoStore
from pointillist.store.records import content_sha256, record_signed_consent
from tests.store.conftest import SEAL_KEY, make_world


def _signed(db: Session, w) -> Consent:
    consent = record_signed_consent(
        db,
        w.owner,
        w.client.id,
        template_id=w.treatment_template_id,
        signer_name="Alex Client",
        signer_ip="192.0.2.7",
        seal_key=SEAL_KEY,
        drawn_signature="M 10 10 L 40 12",
    )
    db.commit()
    return consent


@contextmanager
def _without_guards(connection: Connection) -> Iterator[None]:
    """What an attacker with the database owner's rights can do: step round the triggers."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET session_replication_role = replica"))
        yield
        connection.execute(text("SET session_replication_role = origin"))
        return
    triggers = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    ).all()
    for name, _sql in triggers:
        connection.execute(text(f"DROP TRIGGER {name}"))
    yield
    for _name, sql in triggers:
        connection.execute(text(sql))


def test_a_signed_consent_is_sealed_and_verifies(db):
    w = make_world(db, "A")
    consent = _signed(db, w)
    assert consent.seal and len(consent.seal) == 64
    assert consent_verified(SEAL_KEY, db.get(Consent, consent.id)) is True
    assert consent_verified(b"another key", consent) is False


def test_a_consent_rewritten_behind_the_triggers_no_longer_verifies(db, engine):
    w = make_world(db, "A")
    consent = _signed(db, w)
    forged = consent.text.replace("scalp micropigmentation", "a free haircut")
    with engine.begin() as connection, _without_guards(connection):
        connection.execute(
            text("UPDATE consents SET text = :t, content_sha256 = :h WHERE id = :id"),
            {"t": forged, "h": content_sha256(forged), "id": consent.id},
        )
    db.rollback()
    db.expire_all()
    assert consent_verified(SEAL_KEY, db.get(Consent, consent.id)) is False


def test_a_signed_consent_cannot_be_deleted(db, engine):
    w = make_world(db, "A")
    consent = _signed(db, w)
    with pytest.raises(DBAPIError, match="signed"), engine.begin() as connection:
        connection.execute(text("DELETE FROM consents WHERE id = :id"), {"id": consent.id})


def test_a_signed_consent_cannot_be_replaced_by_a_new_row(db, engine):
    w = make_world(db, "A")
    consent = _signed(db, w)
    forged = "I consent to nothing."
    columns = (
        "id, clinic_id, client_id, template_id, text, content_sha256, signer_name, "
        "signer_ip, signed_at, created_at"
    )
    values = {
        "id": consent.id,
        "clinic": consent.clinic_id,
        "client": consent.client_id,
        "template": consent.template_id,
        "t": forged,
        "h": content_sha256(forged),
        "at": consent.signed_at,
    }
    select_new = ":id, :clinic, :client, :template, :t, :h, 'Alex Client', '192.0.2.7', :at, :at"
    with pytest.raises(DBAPIError, match="signed"), engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(
                text(f"INSERT OR REPLACE INTO consents ({columns}) VALUES ({select_new})"),
                values,
            )
        else:
            connection.execute(text("DELETE FROM consents WHERE id = :id"), {"id": consent.id})
            connection.execute(
                text(f"INSERT INTO consents ({columns}) VALUES ({select_new})"), values
            )
    db.rollback()
    db.expire_all()
    assert db.get(Consent, consent.id).text == consent.text


def test_erasure_still_removes_signed_consents(db, data_dir):
    w = make_world(db, "A")
    consent = _signed(db, w)
    photos = PhotoStore(data_dir / "photos", max_bytes=10**6, max_megapixels=1)
    erase_client(db, w.owner, photos, w.client.id)
    db.commit()
    assert db.get(Consent, consent.id) is None


def test_the_audit_log_refuses_delete_and_update(db, engine):
    w = make_world(db, "A")
    db.commit()
    entry_id = db.scalar(select(AuditEntry.id).limit(1))
    # SQLite transactions take the write lock at BEGIN (store.db): end this one first.
    db.rollback()
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET actor = 'someone else' WHERE id = :id"), {"id": entry_id}
        )
    assert db.scalar(select(AuditEntry.actor).where(AuditEntry.id == entry_id)) == "admin-cli"
    assert w.clinic.id


def test_the_audit_chain_verifies_and_finds_a_changed_or_missing_entry(db, engine):
    w = make_world(db, "A")
    for i in range(3):
        audit.record(db, w.owner, "read", "client", w.client.id, n=i)
    db.commit()
    seal_audit_log(db, SEAL_KEY)
    db.commit()
    report = verify_audit_log(db, SEAL_KEY)
    assert report.intact and report.chained >= 4 and report.pending == 0

    ids = list(db.scalars(select(AuditEntry.id).order_by(AuditEntry.seq)))
    # SQLite transactions take the write lock at BEGIN (store.db): end this one first.
    db.rollback()
    with engine.begin() as connection, _without_guards(connection):
        connection.execute(
            text("UPDATE audit_log SET actor = 'nobody' WHERE id = :id"), {"id": ids[1]}
        )
        connection.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[2]})
    db.expire_all()
    problems = verify_audit_log(db, SEAL_KEY).problems
    assert any(f"id {ids[1]} " in p and "changed" in p for p in problems), problems
    assert any("missing" in p for p in problems), problems


@pytest.fixture
def own_database(empty_database_url):
    """A database of its own: these tests break its triggers."""
    url = empty_database_url()
    upgrade_to_head(url)
    engine = make_engine(url, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def test_the_server_refuses_a_database_whose_guards_were_dropped(own_database):
    require_guards(own_database)
    with own_database.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE consents DISABLE TRIGGER consents_signed_no_delete")
            )
            connection.execute(text("DROP TRIGGER audit_log_no_truncate ON audit_log"))
        else:
            connection.execute(text("DROP TRIGGER consents_signed_no_replace"))
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
    with own_database.connect() as connection:
        problems = missing_guards(connection)
    assert len(problems) == 2, problems
    with pytest.raises(PointillistError, match="no longer protects signed consents"):
        require_guards(own_database)


def test_chaining_is_idempotent_and_survives_a_second_sealer(own_database, data_dir):
    factory = session_factory(own_database, keys=KeyFile(data_dir / "client_keys"))
    with factory() as session:
        w = make_world(session, "A")
        session.commit()
        assert seal_audit_log(session, SEAL_KEY) > 0
        session.commit()
        assert seal_audit_log(session, SEAL_KEY) == 0
        audit.record(session, w.owner, "read", "client", w.client.id)
        session.commit()
    with factory() as session:
        assert seal_audit_log(session, SEAL_KEY) == 1
        session.commit()
        assert verify_audit_log(session, SEAL_KEY).intact
