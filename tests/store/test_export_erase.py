import io
import json
import subprocess
import zipfile

import pytest
from sqlalchemy import func, select, text

from pointillist.store.audit import entries
from pointillist.store.errors import NotFound, PermissionDenied
from pointillist.store.export import erase_client, export_client
from pointillist.store.models import (
    AuditEntry,
    Client,
    Consent,
    Consultation,
    Photo,
    Reminder,
    Simulation,
    TreatmentPlan,
    TreatmentSession,
)
from pointillist.store.records import (
    add_consultation,
    add_photo,
    add_plan,
    add_simulation,
    get_client,
    record_signed_consent,
)
from pointillist.store.sessions import (
    add_reminder,
    book_session,
    complete_session,
    recall_lot,
    record_bottles,
)
from tests.store.conftest import SEAL_KEY, TODAY
from tests.store.test_photos import _jpeg_with_exif


def _png(seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 255, (20, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _full_record(db, w, photo_store):
    c = w.client.id
    consultation = add_consultation(
        db, w.owner, c, answers={"age": 41}, screening={"verdict": "go"}, rules_version="2026.11-1"
    )
    plan = add_plan(
        db,
        w.owner,
        c,
        snapshot={"sessions": 3, "quote": {"total": 1800}},
        consultation_id=consultation.id,
    )
    record_signed_consent(
        db,
        w.owner,
        c,
        template_id=w.treatment_template_id,
        signer_name="Alpha Client",
        signer_ip="192.0.2.1",
        seal_key=SEAL_KEY,
    )
    booked = book_session(
        db,
        w.owner,
        c,
        practitioner_id=w.practitioner.id,
        scheduled_on=TODAY,
        plan_id=plan.id,
        zones=["crown"],
        needle="1RL 0.25 mm",
    )
    record_bottles(db, w.owner, booked.id, [w.bottle.id])
    complete_session(db, w.owner, booked.id)
    photo = add_photo(
        db, w.owner, photo_store, c, _jpeg_with_exif(), kind="top", session_id=booked.id
    )
    add_simulation(
        db,
        w.owner,
        photo_store,
        c,
        parameters={"density": 0.3},
        outputs={"session-1.png": _png(1)},
        photo_id=photo.id,
    )
    add_reminder(
        db,
        w.owner,
        c,
        kind="touch-up",
        due_on=TODAY,
        message="Book your touch-up",
        session_id=booked.id,
    )
    db.commit()
    return booked


def test_export_holds_every_record_and_file(db, clinic_a, photo_store):
    w = clinic_a
    _full_record(db, w, photo_store)
    out = io.BytesIO()
    summary = export_client(db, w.owner, photo_store, w.client.id, out)
    db.commit()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        names = set(archive.namelist())
        record = json.loads(archive.read("client.json"))
        photo_name = record["photos"][0]["file"]
        assert photo_name in names and record["simulations"][0]["files"][0] in names
        assert archive.read(photo_name)[:2] == b"\xff\xd8"
    assert record["format"] == "pointillist-client-export/1"
    assert record["client"]["name"] == "alpha Client"
    assert record["consultations"][0]["screening"] == {"verdict": "go"}
    assert record["consents"][0]["signer_ip"] == "192.0.2.1"
    assert record["consents"][0]["template"] == {"name": "treatment", "version": 1}
    session = record["sessions"][0]
    assert (
        session["needle"] == "1RL 0.25 mm" and session["pigment_bottles"][0]["lot"] == "LOT-alpha"
    )
    assert record["treatment_plans"][0]["snapshot"]["quote"]["total"] == 1800
    assert [r["kind"] for r in record["reminders"]] == ["aftercare", "touch-up", "touch-up"]
    assert summary.files == 2 and summary.records == 10
    assert entries(db, w.owner, entity="client", entity_id=w.client.id)[0].action == "export"


def test_erase_removes_records_and_files_but_the_log_keeps_the_fact(
    db, clinic_a, clinic_b, photo_store
):
    w = clinic_a
    _full_record(db, w, photo_store)
    _full_record(db, clinic_b, photo_store)  # same picture bytes in clinic B: file shared
    get_client(db, w.owner, w.client.id)
    db.commit()
    files_before = len(photo_store.files())
    client_id = w.client.id

    report = erase_client(db, w.owner, photo_store, client_id)
    assert report.within_retention  # a session today: five more years to keep it
    assert len(photo_store.files()) == files_before  # nothing deleted before the commit
    db.commit()

    for model in (
        Client,
        Consent,
        Consultation,
        Photo,
        Simulation,
        TreatmentPlan,
        TreatmentSession,
        Reminder,
    ):
        count = db.scalar(
            select(func.count()).select_from(model).where(model.clinic_id == w.clinic.id)
        )
        assert count == 0, model.__tablename__
    with pytest.raises(NotFound):
        get_client(db, w.owner, client_id)
    assert recall_lot(db, w.owner, "LOT-alpha") == []
    # Clinic B's photo is the same JPEG (same digest): it must survive; its own record is intact.
    assert (
        db.scalar(
            select(func.count()).select_from(Photo).where(Photo.clinic_id == clinic_b.clinic.id)
        )
        == 1
    )
    assert len(photo_store.files()) == files_before  # shared files stay
    b_photo = db.scalar(select(Photo).where(Photo.clinic_id == clinic_b.clinic.id))
    assert photo_store.read(b_photo.sha256, b_photo.media_type)

    log = entries(db, w.owner, entity="client", entity_id=client_id)
    assert log[0].action == "erase" and log[0].detail["deleted"]["sessions"] == 1
    assert {"read", "create", "erase"} <= {e.action for e in log}
    dumped = json.dumps([e.detail for e in db.scalars(select(AuditEntry))])
    assert "alpha Client" not in dumped and "192.0.2.1" not in dumped


def test_erase_deletes_files_no_one_else_uses_only_after_commit(db, clinic_a, photo_store):
    w = clinic_a
    _full_record(db, w, photo_store)
    assert len(photo_store.files()) == 2
    erase_client(db, w.owner, photo_store, w.client.id)
    db.rollback()  # changed their mind: everything stays
    assert len(photo_store.files()) == 2
    assert db.get(Client, w.client.id) is not None

    erase_client(db, w.owner, photo_store, w.client.id)
    db.commit()
    assert photo_store.files() == []


def test_only_owners_export_or_erase(db, clinic_a, photo_store):
    for scope in (clinic_a.practitioner_scope, clinic_a.front_desk):
        with pytest.raises(PermissionDenied, match="owner"):
            export_client(db, scope, photo_store, clinic_a.client.id, io.BytesIO())
        with pytest.raises(PermissionDenied):
            erase_client(db, scope, photo_store, clinic_a.client.id)


def _raw_values(db, table: str, column: str, row_id: int) -> str:
    """A column as the database holds it (ciphertext), bypassing the models."""
    return db.execute(text(f"SELECT {column} FROM {table} WHERE id = :i"), {"i": row_id}).scalar()


def _postgres_disk(db, tables: list[str], since_lsn: str) -> bytes:
    """The tables' heap files and the WAL written since ``since_lsn``, as on the server's
    disk (after a checkpoint): what someone with a copy of the data directory reads."""
    db.execute(text("CHECKPOINT"))
    blobs = []
    for table in tables:
        path = db.scalar(text("SELECT pg_relation_filepath(:r)"), {"r": table})
        blobs.append(db.scalar(text("SELECT pg_read_binary_file(:p)"), {"p": path}))
    first = db.scalar(text("SELECT pg_walfile_name(CAST(:l AS pg_lsn))"), {"l": since_lsn})
    last = db.scalar(text("SELECT pg_walfile_name(pg_current_wal_lsn())"))
    segments = db.scalars(
        text("SELECT name FROM pg_ls_waldir() WHERE name >= :a AND name <= :b ORDER BY name"),
        {"a": first, "b": last},
    ).all()
    assert segments, "no WAL segment found to scan"
    for name in segments:
        blobs.append(db.scalar(text("SELECT pg_read_binary_file(:p)"), {"p": f"pg_wal/{name}"}))
    return b"".join(bytes(b) for b in blobs)


def _sqlite_disk(path) -> bytes:
    # Read by another process: SQLite's locks are POSIX advisory locks, which a process
    # loses on every descriptor of the file the moment it closes any one of them, so
    # reading the file here would silently unlock this process's open connections (and
    # let a later test's worker process corrupt the database: "How To Corrupt An SQLite
    # Database File", section 2.2).
    wal = path.with_name(path.name + "-wal")
    files = [str(path), *([str(wal)] if wal.exists() else [])]
    return subprocess.run(["cat", *files], check=True, capture_output=True).stdout


def test_erasure_leaves_nothing_readable_on_disk(db, clinic_a, photo_store, database_url):
    """The client's details and health data never reach the database's files in plain
    text, and erasure destroys the only key that opens what does."""
    from pointillist.store.client_keys import UnreadableRecord, keyring_of
    from pointillist.store.db import sqlite_file
    from pointillist.store.records import create_client, update_client

    path = sqlite_file(database_url)
    if path is None:
        superuser = db.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        if not superuser:
            pytest.skip("reading PostgreSQL's files needs a superuser test URL")
        since = db.scalar(text("SELECT CAST(pg_current_wal_lsn() AS text)"))
        db.commit()
    marker = "erase-me-7f3a9c"
    # A control: the practitioner's name is not client data and stays plain, so the
    # scan below is shown to find what is written in plain text.
    control = "control-name-5b1e0d"
    clinic_a.practitioner.name = control
    client = create_client(
        db,
        clinic_a.owner,
        name=f"Erased {marker} Client",
        email=f"{marker}@example.org",
        notes=marker * 3,
    )
    db.flush()
    update_client(db, clinic_a.owner, client.id, phone=f"+31 6 {marker}")
    consultation = add_consultation(
        db,
        clinic_a.owner,
        client.id,
        answers={"medical": f"alopecia areata {marker}"},
        screening={"verdict": "go"},
        rules_version="2026.11-1",
    )
    booked = book_session(
        db, clinic_a.owner, client.id, practitioner_id=clinic_a.practitioner.id, scheduled_on=TODAY
    )
    booked.notes = f"session notes {marker}"
    record_signed_consent(
        db,
        clinic_a.owner,
        client.id,
        template_id=clinic_a.treatment_template_id,
        signer_name=f"Signed {marker}",
        signer_ip="192.0.2.44",
        seal_key=SEAL_KEY,
        drawn_signature=f"M 0 0 L {marker}",
    )
    db.commit()
    stored = {
        "clients.email": _raw_values(db, "clients", "email", client.id),
        "consultations.answers": _raw_values(db, "consultations", "answers", consultation.id),
        "sessions.notes": _raw_values(db, "sessions", "notes", booked.id),
    }
    ring = keyring_of(db)
    # The database holds ciphertext that the client's key opens ...
    assert (
        ring.decrypt(stored["clients.email"], "clients.email") == f"{marker}@example.org".encode()
    )
    assert marker.encode() in ring.decrypt(stored["sessions.notes"], "sessions.notes")

    tables = ["clients", "consultations", "sessions", "consents", "practitioners"]
    on_disk = _sqlite_disk(path) if path else _postgres_disk(db, tables, since)
    db.commit()
    assert control.encode() in on_disk
    assert marker.encode() not in on_disk  # ... and never the plain text

    erase_client(db, clinic_a.owner, photo_store, client.id)
    db.commit()
    db.close()

    # Whatever copy of those rows is left (dead tuples, WAL, archives, dumps) stays
    # unreadable: the key is gone from the key file, not only from this session.
    fresh = type(ring)(ring.file)
    for column, token in stored.items():
        with pytest.raises(UnreadableRecord):
            fresh.decrypt(token, column)
    assert ring.file.read(client.key_ref) is None
    on_disk = _sqlite_disk(path) if path else _postgres_disk(db, tables, since)
    db.commit()
    assert marker.encode() not in on_disk
    if path:  # SQLite also zeroes the deleted rows and empties its WAL
        assert stored["clients.email"].encode() not in on_disk
