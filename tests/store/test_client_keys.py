import base64
import os
import shutil
from datetime import date

import pytest
from sqlalchemy import select, text

from pointillist.errors import PointillistError
from pointillist.store.backup import backup, restore
from pointillist.store.client_keys import (
    RECORD_BYTES,
    KeyFile,
    KeyRing,
    UnreadableRecord,
    destroyed_refs,
)
from pointillist.store.db import is_sqlite, session_factory
from pointillist.store.export import erase_client
from pointillist.store.models import Client, Consultation
from pointillist.store.records import add_consultation, create_client, get_client, list_clients
from pointillist.store.shredding import encrypt_plaintext_rows


def test_destroying_a_key_zeroes_it_in_place_and_leaves_the_others(tmp_path):
    keys = KeyFile(tmp_path / "client_keys")
    first, _ = keys.new_key()
    second, second_key = keys.new_key()
    inode = os.stat(keys.path).st_ino
    assert os.stat(keys.path).st_mode & 0o777 == 0o600

    assert keys.destroy(first)
    assert not keys.destroy(first)  # already gone
    # Overwritten where it was, not by writing a new file that leaves the old blocks.
    assert os.stat(keys.path).st_ino == inode
    assert os.stat(keys.path).st_size == 2 * RECORD_BYTES
    assert keys.read(first) is None and keys.read(second) == second_key
    assert destroyed_refs(keys) == {first}
    # A reference whose key id does not match its slot opens nothing.
    slot = second.split(":")[0]
    assert keys.read(f"{slot}:{'00' * 8}") is None


def test_a_value_opens_only_with_its_clients_key_and_in_its_own_column(tmp_path):
    ring = KeyRing(KeyFile(tmp_path / "client_keys"))
    alice, bob = ring.new_key(), ring.new_key()
    token = ring.encrypt(alice, "clients.notes", b"keloid scarring")
    assert token.startswith("pe1:") and b"keloid" not in token.encode()
    assert ring.decrypt(token, "clients.notes") == b"keloid scarring"
    with pytest.raises(UnreadableRecord, match="moved from another column"):
        ring.decrypt(token, "clients.email")
    blob = bytearray(base64.b64decode(ring.encrypt(bob, "clients.notes", b"x")[4:]))
    blob[-1] ^= 1  # one bit of the tag
    with pytest.raises(UnreadableRecord):
        ring.decrypt("pe1:" + base64.b64encode(blob).decode(), "clients.notes")


def test_records_read_back_transparently_and_search_still_finds_them(db, clinic_a):
    owner = clinic_a.owner
    create_client(
        db,
        owner,
        name="Jan de Vries",
        email="jan@example.nl",
        phone="+31 6 1234 5678",
        date_of_birth=date(1980, 5, 17),
        notes="psoriasis on the crown",
    )
    create_client(db, owner, name="anna Berg", email="anna@example.se")
    db.commit()
    # The database holds no plain text; the models give it back.
    raw = db.execute(text("SELECT name, email, date_of_birth, notes FROM clients")).all()
    assert all(value is None or value.startswith("pe1:") for row in raw for value in row)

    # Substring of name, e-mail or phone, any case; sorted by name like before.
    assert [c.name for c in list_clients(db, owner)] == [
        "alpha Client",
        "anna Berg",
        "Jan de Vries",
    ]
    assert [c.name for c in list_clients(db, owner, search="DE VRI")] == ["Jan de Vries"]
    assert [c.name for c in list_clients(db, owner, search="example.se")] == ["anna Berg"]
    assert [c.name for c in list_clients(db, owner, search="1234")] == ["Jan de Vries"]
    assert [c.name for c in list_clients(db, owner, limit=1, offset=1)] == ["anna Berg"]
    jan = list_clients(db, owner, search="jan")[0]
    assert jan.date_of_birth == date(1980, 5, 17) and jan.notes == "psoriasis on the crown"


def test_keys_and_listed_values_kept_in_memory_are_forgotten_when_any_process_erases(
    engine, clean_database, data_dir, clinic_a
):

    keys = KeyFile(data_dir / "client_keys")
    factory = session_factory(engine, keys=keys)
    with factory() as first:
        client = get_client(first, clinic_a.owner, clinic_a.client.id)
        assert client.name == "alpha Client" and client.notes is not None
        key_ref = client.key_ref
    # Kept for the next sessions: the key, and the listed name (not the notes).
    assert len(keys._ciphers) == 1
    assert "alpha Client" in keys._remembered.values()
    assert all(aad != "clients.notes" for aad, _token in keys._remembered)

    # Another process (its own KeyFile object) erases the client's key; this one notices
    # at its next session, even within the file system's timestamp granularity.
    assert KeyFile(data_dir / "client_keys").destroy(key_ref)
    with factory() as second:
        assert keys._ciphers == {} and keys._remembered == {}
        row = second.get(Client, clinic_a.client.id)
        with pytest.raises(UnreadableRecord):
            _ = row.name

    # Keys appended (a new client, here or in another process) keep what was kept.
    with factory() as third:
        later = create_client(third, clinic_a.owner, name="Bea Later")
        third.commit()
        assert get_client(third, clinic_a.owner, later.id).name == "Bea Later"
    assert len(keys._ciphers) == 1
    KeyFile(data_dir / "client_keys").new_key()
    with factory() as fourth:
        assert len(keys._ciphers) == 1
        assert get_client(fourth, clinic_a.owner, later.id).name == "Bea Later"
    assert "Bea Later" in keys._remembered.values()


def test_a_settled_key_file_is_trusted_by_its_stamp_until_it_changes(tmp_path, monkeypatch):
    from pointillist.store import client_keys

    keys = KeyFile(tmp_path / "client_keys")
    ref, _key = keys.new_key()
    reads = []
    real_read_all = KeyFile.read_all
    monkeypatch.setattr(KeyFile, "read_all", lambda self: reads.append(1) or real_read_all(self))
    # Changed within the settling time: read again at every session.
    KeyRing(keys)
    KeyRing(keys)
    assert len(reads) == 2
    # Settled: one stat per session, no read, until the file changes.
    monkeypatch.setattr(client_keys, "SETTLE_NS", 0)
    KeyRing(keys)
    reads.clear()
    KeyRing(keys)
    KeyRing(keys)
    assert reads == []
    KeyFile(tmp_path / "client_keys").destroy(ref)
    ring = KeyRing(keys)
    assert reads == [1]
    with pytest.raises(UnreadableRecord):
        ring.key(ref)


def test_rows_written_before_encryption_are_read_then_encrypted_at_start(db, clinic_a):
    # What migration 0006 leaves: plain values and a client without a key.
    db.execute(
        text(
            "INSERT INTO clients (clinic_id, name, email, phone, date_of_birth, notes, "
            "created_at, updated_at) VALUES (:c, 'Old Client', 'old@example.org', NULL, "
            "'1970-01-02', 'vitiligo', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"c": clinic_a.clinic.id},
    )
    old_id = db.scalar(select(Client.id).where(Client.key_ref.is_(None)))
    db.execute(
        text(
            "INSERT INTO consultations (clinic_id, client_id, answers, screening, "
            'rules_version, created_at) VALUES (:c, :k, \'{"age": 70}\', \'{"verdict": '
            "\"go\"}', 'r1', CURRENT_TIMESTAMP)"
        ),
        {"c": clinic_a.clinic.id, "k": old_id},
    )
    db.commit()
    old = db.get(Client, old_id)
    assert old.name == "Old Client" and old.date_of_birth == date(1970, 1, 2)
    db.expunge_all()

    assert encrypt_plaintext_rows(db) == 2
    db.commit()
    assert encrypt_plaintext_rows(db) == 0
    raw = db.execute(text("SELECT name, email, date_of_birth, notes, key_ref FROM clients")).all()
    assert all(row[0].startswith("pe1:") and row[4] for row in raw)
    answers = db.scalar(text("SELECT answers FROM consultations"))
    assert answers.startswith("pe1:")
    db.expunge_all()
    consultation = db.scalars(select(Consultation)).one()
    assert consultation.answers == {"age": 70} and consultation.screening == {"verdict": "go"}
    assert db.get(Client, old_id).notes == "vitiligo"


def test_an_old_backup_restored_after_an_erasure_does_not_bring_the_client_back(
    database_url, db, clinic_a, photo_store, empty_database_url, data_dir, tmp_path
):
    if not is_sqlite(database_url) and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (apt install postgresql-client)")
    keys_file = data_dir / "client_keys"
    erased = create_client(db, clinic_a.owner, name="Erased Person", notes="hair loss since 2019")
    db.flush()
    add_consultation(
        db,
        clinic_a.owner,
        erased.id,
        answers={"medical": "finasteride"},
        screening={"verdict": "go"},
        rules_version="r1",
    )
    db.commit()
    erased_id, erased_ref = erased.id, erased.key_ref
    archive = tmp_path / "before-erasure.tar"
    backup(database_url, photo_store.root, archive, client_keys_file=keys_file)

    erase_client(db, clinic_a.owner, photo_store, erased_id)
    db.commit()
    assert keys_file.exists() and erased_ref in destroyed_refs(KeyFile(keys_file))

    # Restored into a new database on this installation: the key file is kept ...
    target = empty_database_url()
    summary = restore(target, photo_store.root, archive, client_keys_file=keys_file)
    assert summary.erased_again == 1
    from pointillist.store.db import make_engine

    restored = make_engine(target)
    try:
        with session_factory(restored, keys=KeyFile(keys_file))() as session:
            # ... the erased client is erased again, the others are all there and readable.
            assert session.get(Client, erased_id) is None
            names = [c.name for c in list_clients(session, clinic_a.owner)]
            assert names == ["alpha Client"]
            erasures = session.execute(
                text("SELECT actor FROM audit_log WHERE action = 'erase' AND entity_id = :i"),
                {"i": erased_id},
            ).scalars()
            assert "restore" in list(erasures)
    finally:
        restored.dispose()


def test_restore_refuses_a_key_file_of_another_installation_before_changing_anything(
    database_url, db, clinic_a, photo_store, empty_database_url, data_dir, tmp_path
):
    if not is_sqlite(database_url) and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (apt install postgresql-client)")
    archive = tmp_path / "backup.tar"
    backup(database_url, photo_store.root, archive, client_keys_file=data_dir / "client_keys")
    other = KeyFile(tmp_path / "other" / "client_keys")
    other.new_key()
    target = empty_database_url()
    with pytest.raises(PointillistError, match="another installation"):
        restore(target, tmp_path / "photos", archive, client_keys_file=other.path)
    from pointillist.store.migrate import current_revision

    assert current_revision(target) is None
