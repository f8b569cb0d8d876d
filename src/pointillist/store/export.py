"""A client's right of access and right to erasure (GDPR art. 15, 17 and 20).

:func:`export_client` writes one zip: ``client.json`` (every record, in a documented
shape) and the photo and simulation files. :func:`erase_client` deletes every record and
file of the client; the audit log keeps that it happened (who, when, how many records),
not who the client was.
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import Engine, String, cast, delete, event, func, select
from sqlalchemy.orm import Session

from pointillist.store import audit
from pointillist.store.client_keys import keyring_of
from pointillist.store.db import checkpoint_wal
from pointillist.store.models import (
    Base,
    Client,
    Clinic,
    Consent,
    ConsentTemplate,
    Consultation,
    OutboxMessage,
    Photo,
    Reminder,
    Simulation,
    TreatmentPlan,
    TreatmentSession,
    session_bottles,
)
from pointillist.store.photos import PhotoStore
from pointillist.store.records import scoped_get
from pointillist.store.scope import Scope

log = logging.getLogger(__name__)

EXPORT_FORMAT = "pointillist-client-export/1"
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(row: Base, *, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    # By column name: an encrypted column's attribute (``email``) gives the plain value.
    return {
        column.name: _plain(getattr(row, column.name))
        for column in row.__table__.columns
        if column.name not in leave_out and column.name != "key_ref"
    }


def _of_client(session: Session, scope: Scope, model: type[Any], client_id: int) -> list[Any]:
    return list(
        session.scalars(
            select(model)
            .where(model.clinic_id == scope.clinic_id, model.client_id == client_id)
            .order_by(model.id)
        )
    )


def retention_ends_on(session: Session, scope: Scope, client: Client) -> date:
    """The day the client's record may be deleted under the retention policy.

    ``records.toml``'s years after the client's last completed session, or after the
    record was opened if they never completed one.
    """
    last = session.scalar(
        select(func.max(TreatmentSession.scheduled_on)).where(
            TreatmentSession.clinic_id == scope.clinic_id,
            TreatmentSession.client_id == client.id,
            TreatmentSession.status == "completed",
        )
    )
    start = last or client.created_at.date()
    years = scope.policy.retention_years
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def client_record(session: Session, scope: Scope, client_id: int) -> dict[str, Any]:
    """Everything the clinic keeps about a client, as plain JSON-ready data."""
    scope.require("export_erase")
    client = scoped_get(session, scope, Client, client_id)
    clinic = session.get(Clinic, scope.clinic_id)
    assert clinic is not None
    templates = {
        t.id: t
        for t in session.scalars(
            select(ConsentTemplate).where(ConsentTemplate.clinic_id == scope.clinic_id)
        )
    }
    consents = []
    for consent in _of_client(session, scope, Consent, client_id):
        item = _row(consent)
        template = templates[consent.template_id]
        item["template"] = {"name": template.name, "version": template.version}
        consents.append(item)
    sessions = []
    for treated in _of_client(session, scope, TreatmentSession, client_id):
        item = _row(treated)
        item["practitioner"] = treated.practitioner.name
        item["pigment_bottles"] = [
            _row(bottle, leave_out=("clinic_id", "created_at")) for bottle in treated.bottles
        ]
        sessions.append(item)
    photos = []
    for photo in _of_client(session, scope, Photo, client_id):
        item = _row(photo)
        item["file"] = _photo_path(photo)
        photos.append(item)
    simulations = []
    for simulation in _of_client(session, scope, Simulation, client_id):
        item = _row(simulation)
        item["files"] = [
            f"simulations/{simulation.id}/{output['name']}" for output in simulation.outputs
        ]
        simulations.append(item)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now().astimezone().isoformat(),
        "clinic": {
            "name": clinic.name,
            "licence_number": clinic.licence_number,
            "licence_authority": clinic.licence_authority,
        },
        "client": _row(client),
        "retention_ends_on": retention_ends_on(session, scope, client).isoformat(),
        "consultations": [_row(c) for c in _of_client(session, scope, Consultation, client_id)],
        "consents": consents,
        "treatment_plans": [_row(p) for p in _of_client(session, scope, TreatmentPlan, client_id)],
        "sessions": sessions,
        "photos": photos,
        "simulations": simulations,
        "reminders": [_row(r) for r in _of_client(session, scope, Reminder, client_id)],
        "messages": [_row(m) for m in _of_client(session, scope, OutboxMessage, client_id)],
    }


def _photo_path(photo: Photo) -> str:
    return f"photos/{photo.id}-{photo.kind}.{_EXTENSIONS[photo.media_type]}"


@dataclass(frozen=True)
class ExportSummary:
    """What went into an export zip."""

    client_id: int
    records: int
    files: int


def export_client(
    session: Session, scope: Scope, photos: PhotoStore, client_id: int, out: IO[bytes]
) -> ExportSummary:
    """Write the client's record and files as one zip to ``out`` (owners; audited)."""
    record = client_record(session, scope, client_id)
    files = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "client.json", json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True)
        )
        for item in record["photos"]:
            # Already-compressed images: storing them deflated again only costs time.
            data = photos.read(item["sha256"], item["media_type"])
            archive.writestr(item["file"], data, compress_type=zipfile.ZIP_STORED)
            files += 1
        for simulation in record["simulations"]:
            for output, path in zip(simulation["outputs"], simulation["files"], strict=True):
                data = photos.read(output["sha256"], output["media_type"])
                archive.writestr(path, data, compress_type=zipfile.ZIP_STORED)
                files += 1
    records = 1 + sum(
        len(record[key])
        for key in (
            "consultations",
            "consents",
            "treatment_plans",
            "sessions",
            "photos",
            "simulations",
            "reminders",
        )
    )
    audit.record(session, scope, "export", "client", client_id, records=records, files=files)
    return ExportSummary(client_id=client_id, records=records, files=files)


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed, and whether the retention period had run out."""

    client_id: int
    deleted: dict[str, int]
    files_deleted_on_commit: int
    retention_ends_on: date
    within_retention: bool = field(default=False)


def erase_client(
    session: Session, scope: Scope, photos: PhotoStore, client_id: int, *, today: date | None = None
) -> ErasureReport:
    """Delete every record and file of a client (owners).

    The rows go in the caller's transaction; the files are removed only once it commits
    (a rolled-back erasure leaves everything in place) and only if no other record uses
    the same file. The audit log keeps the fact: ``erase`` of client N, by whom, when,
    with counts. Whether a legal duty to keep the record overrides the request (GDPR
    art. 17(3)(b)) is the owner's call: the report says if the retention period
    (``records.toml``) had not yet run out.
    """
    scope.require("export_erase")
    client = scoped_get(session, scope, Client, client_id)
    ends = retention_ends_on(session, scope, client)
    today = today or date.today()

    files: set[tuple[str, str]] = set()
    for photo in _of_client(session, scope, Photo, client_id):
        files.add((photo.sha256, photo.media_type))
    for simulation in _of_client(session, scope, Simulation, client_id):
        files.update((o["sha256"], o["media_type"]) for o in simulation.outputs)

    session_ids = select(TreatmentSession.id).where(
        TreatmentSession.clinic_id == scope.clinic_id, TreatmentSession.client_id == client_id
    )
    session.execute(delete(session_bottles).where(session_bottles.c.session_id.in_(session_ids)))
    deleted: dict[str, int] = {}

    def delete_rows(model: type[Any]) -> None:
        result = session.execute(
            delete(model).where(model.clinic_id == scope.clinic_id, model.client_id == client_id),
            execution_options={"synchronize_session": "fetch"},
        )
        deleted[model.__tablename__] = int(getattr(result, "rowcount", 0) or 0)

    for model in (
        OutboxMessage,
        Reminder,
        Simulation,
        Photo,
        TreatmentSession,
        TreatmentPlan,
        Consultation,
    ):
        delete_rows(model)
    session.flush()
    consents = session.scalar(
        select(func.count()).where(
            Consent.clinic_id == scope.clinic_id, Consent.client_id == client_id
        )
    )
    orphaned = [f for f in sorted(files) if not _file_in_use(session, f[0])]
    _after_erasure_commits(session, photos, orphaned, client.key_ref)
    # Logged before the consents go: the database lets a signed consent be deleted only
    # once the append-only log holds its client's erasure (migration 0002).
    audit.record(
        session,
        scope,
        "erase",
        "client",
        client_id,
        deleted={**deleted, "consents": int(consents or 0), "clients": 1},
        files=len(orphaned),
        within_retention=today < ends,
    )
    session.flush()
    delete_rows(Consent)
    session.delete(client)
    deleted["clients"] = 1
    session.flush()
    return ErasureReport(
        client_id=client_id,
        deleted=deleted,
        files_deleted_on_commit=len(orphaned),
        retention_ends_on=ends,
        within_retention=today < ends,
    )


def _file_in_use(session: Session, sha256: str) -> bool:
    if session.scalar(select(Photo.id).where(Photo.sha256 == sha256).limit(1)) is not None:
        return True
    in_simulation = session.scalar(
        select(Simulation.id).where(cast(Simulation.outputs, String).contains(sha256)).limit(1)
    )
    return in_simulation is not None


def _after_erasure_commits(
    session: Session, photos: PhotoStore, files: list[tuple[str, str]], key_ref: str | None
) -> None:
    state = {"pending": True}
    keys = keyring_of(session).file

    def on_commit(committed: Session) -> None:
        if state["pending"]:
            state["pending"] = False
            # Only now: destroyed before the commit, a rolled-back erasure would leave the
            # client's records unreadable. From here on, every copy of them left in the
            # database's files, its WAL, archives and dumps is ciphertext without a key.
            if key_ref is not None:
                keys.destroy(key_ref)
            for sha256, media_type in files:
                photos.delete(sha256, media_type)
            # SQLite keeps the erased rows' old pages in its WAL until a checkpoint.
            bind = committed.get_bind()
            if not checkpoint_wal(bind if isinstance(bind, Engine) else bind.engine):
                log.warning("erasure: readers delayed the WAL checkpoint; it completes later")

    def on_rollback(_session: Session) -> None:
        state["pending"] = False

    event.listen(session, "after_commit", on_commit, once=True)
    event.listen(session, "after_rollback", on_rollback, once=True)
