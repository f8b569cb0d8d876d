"""Read sessions: no write lock, audit entries group-committed, nothing else written."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from pointillist.store import accounts, audit, records
from pointillist.store.client_keys import keyring_of
from pointillist.store.db import make_engine, session_factory
from pointillist.store.integrity import seal_audit_log, verify_audit_log
from pointillist.store.models import AuditEntry, Client, User, WebSession, utcnow
from pointillist.store.reads import GroupWriter, WriteInReadSession, read_session_factory

from .conftest import make_world

KEY = b"k" * 32


@pytest.fixture
def server_engine(database_url, clean_database):
    """An engine as the web server makes it (SQLite: writes behind one lock)."""
    engine = make_engine(database_url, serialise_writes=True)
    yield engine
    engine.dispose()


@pytest.fixture
def writer(server_engine):
    writer = GroupWriter(server_engine)
    yield writer
    writer.stop()


def _plain(world):
    """The scope and ids as plain values: touching the ORM objects again later would begin
    (and on SQLite lock) the test session's transaction."""
    return world.owner, world.client.id, world.clinic.id


def _audit_count(db) -> int:
    # The test's own session takes SQLite's write lock as it begins: end it at once.
    db.rollback()
    count = int(db.scalar(select(func.count()).select_from(AuditEntry)))
    db.rollback()
    return count


def test_reads_are_audited_once_each_and_the_chain_verifies(db, server_engine, writer):
    world = make_world(db, "A")
    db.commit()
    owner, client_id, _clinic_id = _plain(world)
    before = _audit_count(db)
    reads = read_session_factory(server_engine, writer, keys=keyring_of(db).file)
    for _ in range(3):
        with reads() as session:
            records.get_client(session, owner, client_id)
            records.list_clients(session, owner, search="client")
            session.commit()
    assert _audit_count(db) == before + 6
    actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(6)).all()
    assert sorted(actions) == ["list"] * 3 + ["read"] * 3
    seal_audit_log(db, KEY)
    db.commit()
    report = verify_audit_log(db, KEY)
    assert report.intact and report.pending == 0 and report.chained == before + 6


def test_a_read_never_waits_for_the_write_lock(db, server_engine, writer):
    world = make_world(db, "A")
    db.commit()
    owner, client_id, _clinic_id = _plain(world)
    holder = session_factory(server_engine, keys=keyring_of(db).file)()
    # A write transaction that holds the lock (SQLite: BEGIN IMMEDIATE behind the
    # engine's lock, which this same thread could not take twice).
    holder.execute(text("SELECT 1"))
    try:
        with read_session_factory(server_engine, writer, keys=keyring_of(db).file)() as session:
            found = records.list_clients(session, owner)
            assert [c.id for c in found] == [client_id]
            session.rollback()
    finally:
        holder.rollback()
        holder.close()


def test_concurrent_reads_share_transactions(db, server_engine, writer):
    world = make_world(db, "A")
    db.commit()
    owner, client_id, _clinic_id = _plain(world)
    before = _audit_count(db)
    reads = read_session_factory(server_engine, writer, keys=keyring_of(db).file)
    holder = session_factory(server_engine, keys=keyring_of(db).file)()
    holder.execute(text("SELECT 1"))  # keeps the writer waiting while the reads queue up
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with reads() as session:
                records.get_client(session, owner, client_id)
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    if server_engine.dialect.name == "sqlite":
        while writer.jobs + writer._jobs.qsize() < 8:
            threading.Event().wait(0.01)
    holder.rollback()
    holder.close()
    for thread in threads:
        thread.join()
    assert not errors
    assert writer.jobs == 8
    if server_engine.dialect.name == "sqlite":
        # The first read's entry waited for the lock; the other seven then went in one.
        assert writer.transactions <= 2
    assert _audit_count(db) == before + 8


def test_a_read_that_fails_leaves_no_entry(db, server_engine, writer):
    world = make_world(db, "A")
    db.commit()
    owner, client_id, _clinic_id = _plain(world)
    before = _audit_count(db)
    with read_session_factory(server_engine, writer, keys=keyring_of(db).file)() as session:
        records.get_client(session, owner, client_id)
        session.flush()  # the entry is taken out of the session here
        session.rollback()  # e.g. the response failed: no entry
        session.commit()
    assert _audit_count(db) == before


def test_a_read_session_refuses_any_other_write(db, server_engine, writer):
    world = make_world(db, "A")
    db.commit()
    _owner, client_id, clinic_id = _plain(world)
    with read_session_factory(server_engine, writer, keys=keyring_of(db).file)() as session:
        session.add(Client(clinic_id=clinic_id, name="Sneaky"))
        with pytest.raises(WriteInReadSession, match="Client"):
            session.flush()
    with read_session_factory(server_engine, writer, keys=keyring_of(db).file)() as session:
        client = session.get(Client, client_id)
        assert client is not None
        client.name = "Changed"
        with pytest.raises(WriteInReadSession, match=r"Client\.name"):
            session.commit()
    db.expire_all()
    assert db.get(Client, client_id).name != "Changed"
    db.rollback()


def test_a_browser_session_sighting_is_written_by_the_group_writer(db, server_engine, writer):
    world = make_world(db, "A")
    user = User(
        clinic_id=world.clinic.id,
        email="p@example.com",
        name="P",
        role="practitioner",
        password_hash=accounts.hash_password("correct horse battery staple 7"),
    )
    db.add(user)
    db.flush()
    long_ago = utcnow() - timedelta(minutes=5)
    record = accounts.start_web_session(db, user, "nonce-1", lifetime_s=3600, address=None)
    record.last_seen_at = long_ago
    db.commit()
    record_id = record.id
    with read_session_factory(server_engine, writer, keys=keyring_of(db).file)() as session:
        assert accounts.user_for_web_session(session, "nonce-1", idle_s=3600) is not None
        session.commit()
    seen = db.scalar(select(WebSession.last_seen_at).where(WebSession.id == record_id))
    db.rollback()
    assert seen is not None and seen > long_ago


def test_audit_record_in_a_read_session_keeps_its_time(db, server_engine, writer):
    world = make_world(db, "A")
    db.commit()
    owner, client_id, _clinic_id = _plain(world)
    with read_session_factory(server_engine, writer, keys=keyring_of(db).file)() as session:
        audit.record(session, owner, "read", "client", client_id)
        started = utcnow()
        session.commit()
    db.rollback()
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert entry.entity_id == client_id and entry.at <= started
