"""A client's record: details, consultations, consents, photos, simulations and plans.

Every function takes the acting :class:`~pointillist.store.scope.Scope` and only ever
sees that clinic's rows: another clinic's record raises :class:`NotFound`, exactly like
a record that does not exist. Reads (single records and lists) and every change are
audited.
Functions flush but never commit: the caller (a web request, a CLI command) owns the
transaction, so a change and its audit entry are kept or lost together.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pointillist.errors import PointillistError
from pointillist.store import audit
from pointillist.store.client_keys import keyring_of
from pointillist.store.errors import ImmutableRecord, NotFound
from pointillist.store.integrity import consent_seal
from pointillist.store.models import (
    PHOTO_KINDS,
    Base,
    Client,
    Clinic,
    Consent,
    ConsentTemplate,
    Consultation,
    Photo,
    Practitioner,
    Reminder,
    Simulation,
    TreatmentPlan,
    TreatmentSession,
    utcnow,
)
from pointillist.store.photos import PhotoStore, PreparedPhoto
from pointillist.store.scope import Scope

Row = TypeVar("Row", bound=Base)

CLIENT_FIELDS = ("name", "date_of_birth", "email", "phone", "notes")

_ENTITY = {
    Client: "client",
    Consultation: "consultation",
    Consent: "consent",
    ConsentTemplate: "consent_template",
    Photo: "photo",
    Simulation: "simulation",
    TreatmentPlan: "treatment_plan",
    TreatmentSession: "session",
    Practitioner: "practitioner",
}


# What front-desk staff may list: bookings and paperwork, no health data.
_NOT_CLINICAL: tuple[type[Base], ...] = (Consent, TreatmentSession, Reminder)


def entity_name(model: type[Base]) -> str:
    """The name a model's rows have in the audit log and in messages."""
    return _ENTITY.get(model) or str(model.__tablename__)


def scoped_get(
    session: Session, scope: Scope, model: type[Row], row_id: int, *, audit_read: bool = False
) -> Row:
    """The row ``row_id`` of ``model`` if it belongs to the caller's clinic, else NotFound."""
    row = session.get(model, row_id)
    if row is None or getattr(row, "clinic_id", None) != scope.clinic_id:
        raise NotFound(f"no {entity_name(model).replace('_', ' ')} {row_id} in this clinic")
    if audit_read:
        audit.record(session, scope, "read", entity_name(model), row_id)
    return row


# --- clients -------------------------------------------------------------------------


def create_client(
    session: Session,
    scope: Scope,
    *,
    name: str,
    date_of_birth: date | None = None,
    email: str | None = None,
    phone: str | None = None,
    notes: str = "",
) -> Client:
    """Open a client's record."""
    scope.require("manage_clients")
    if not name.strip():
        raise PointillistError("give the client's name", field="name")
    if notes:
        scope.require("clinical")
    client = Client(
        clinic_id=scope.clinic_id,
        name=name.strip(),
        date_of_birth=date_of_birth,
        email=email,
        phone=phone,
        notes=notes,
    )
    session.add(client)
    session.flush()
    audit.record(session, scope, "create", "client", client.id)
    return client


def get_client(session: Session, scope: Scope, client_id: int) -> Client:
    """A client of the caller's clinic (the read is audited)."""
    scope.require("read_records")
    return scoped_get(session, scope, Client, client_id, audit_read=True)


def list_clients(
    session: Session, scope: Scope, *, search: str | None = None, limit: int = 100, offset: int = 0
) -> list[Client]:
    """The clinic's clients by name, optionally those whose name, e-mail or phone contain
    ``search`` (any case).

    Names, e-mails and phone numbers are encrypted per client, so the database can
    neither search nor sort them: the clinic's clients are decrypted and filtered here.
    A keyed index of names would let the database search, but it would outlive an
    erasure and let whoever holds its key test a guessed name against what is left on
    disk; a clinic's few thousand clients decrypt in milliseconds.
    """
    scope.require("read_records")
    ring = keyring_of(session)
    wanted = search.strip().lower() if search else ""
    # The encrypted columns alone, not whole rows: only the page shown is loaded.
    searched = (Client.email_ciphertext, Client.phone_ciphertext) if wanted else ()
    columns = select(Client.id, Client.name_ciphertext, *searched).where(
        Client.clinic_id == scope.clinic_id
    )
    matching = []
    for client_id, name, *contact in session.execute(columns):
        plain_name = Client.name.plain(ring, name).lower()
        if (
            not wanted
            or wanted in plain_name
            or wanted in (Client.email.plain(ring, contact[0]) or "").lower()
            or wanted in (Client.phone.plain(ring, contact[1]) or "")
        ):
            matching.append((plain_name, client_id))
    matching.sort()
    page = [client_id for _name, client_id in matching[offset : offset + limit]]
    loaded = {c.id: c for c in session.scalars(select(Client).where(Client.id.in_(page)))}
    found = [loaded[client_id] for client_id in page]
    # The search text may be a name: the log says a search was made, not what it was.
    audit.record(session, scope, "list", "client", None, count=len(found), searched=bool(search))
    return found


def update_client(session: Session, scope: Scope, client_id: int, **changes: Any) -> Client:
    """Change a client's details (notes are clinical: practitioners and owners only)."""
    scope.require("manage_clients")
    client = scoped_get(session, scope, Client, client_id)
    unknown = sorted(set(changes) - set(CLIENT_FIELDS))
    if unknown:
        raise PointillistError(
            f"cannot change {', '.join(unknown)}; changeable: {', '.join(CLIENT_FIELDS)}"
        )
    if "notes" in changes:
        scope.require("clinical")
    if "name" in changes and not str(changes["name"]).strip():
        raise PointillistError("give the client's name", field="name")
    for key, value in changes.items():
        setattr(client, key, value)
    audit.record(session, scope, "update", "client", client.id, fields=sorted(changes))
    return client


# --- consultations and plans ---------------------------------------------------------


def add_consultation(
    session: Session,
    scope: Scope,
    client_id: int,
    *,
    answers: dict[str, Any],
    screening: dict[str, Any],
    rules_version: str,
    practitioner_id: int | None = None,
) -> Consultation:
    """Keep a consultation: the client's answers and the screening result as decided then."""
    scope.require("clinical")
    scoped_get(session, scope, Client, client_id)
    if practitioner_id is not None:
        scoped_get(session, scope, Practitioner, practitioner_id)
    consultation = Consultation(
        clinic_id=scope.clinic_id,
        client_id=client_id,
        practitioner_id=practitioner_id,
        answers=answers,
        screening=screening,
        rules_version=rules_version,
    )
    session.add(consultation)
    session.flush()
    audit.record(session, scope, "create", "consultation", consultation.id, client_id=client_id)
    return consultation


def add_plan(
    session: Session,
    scope: Scope,
    client_id: int,
    *,
    snapshot: dict[str, Any],
    consultation_id: int | None = None,
) -> TreatmentPlan:
    """Keep the plan and quote agreed with the client, as the JSON the plan report gives."""
    scope.require("clinical")
    scoped_get(session, scope, Client, client_id)
    if consultation_id is not None:
        _same_client(scoped_get(session, scope, Consultation, consultation_id), client_id)
    plan = TreatmentPlan(
        clinic_id=scope.clinic_id,
        client_id=client_id,
        consultation_id=consultation_id,
        snapshot=snapshot,
    )
    session.add(plan)
    session.flush()
    audit.record(session, scope, "create", "treatment_plan", plan.id, client_id=client_id)
    return plan


def get_clinical(session: Session, scope: Scope, model: type[Row], row_id: int) -> Row:
    """A consultation, plan, simulation or photo record of the clinic (audited read)."""
    scope.require("clinical")
    return scoped_get(session, scope, model, row_id, audit_read=True)


def list_for_client(session: Session, scope: Scope, model: type[Row], client_id: int) -> list[Row]:
    """A client's consultations, plans, simulations, photos, consents, sessions or
    reminders, oldest first (the clinical ones for practitioners and owners only)."""
    scope.require("read_records" if model in _NOT_CLINICAL else "clinical")
    scoped_get(session, scope, Client, client_id)
    column = model.__table__.c
    query = (
        select(model)
        .where(column.clinic_id == scope.clinic_id, column.client_id == client_id)
        .order_by(column.id)
    )
    found = list(session.scalars(query))
    audit.record(
        session, scope, "list", entity_name(model), None, client_id=client_id, count=len(found)
    )
    return found


# --- photos and simulations ----------------------------------------------------------


def add_photo(
    session: Session,
    scope: Scope,
    photos: PhotoStore,
    client_id: int,
    data: bytes | PreparedPhoto,
    *,
    kind: str,
    session_id: int | None = None,
    marketing_consent: bool = False,
    taken_at: datetime | None = None,
) -> Photo:
    """Store a client photo (validated, metadata stripped, or already prepared by
    :meth:`PhotoStore.prepare`) and its record."""
    scope.require("clinical")
    if kind not in PHOTO_KINDS:
        raise PointillistError(
            f"photo kind {kind!r} is unknown; use one of {', '.join(PHOTO_KINDS)}", field="kind"
        )
    scoped_get(session, scope, Client, client_id)
    if session_id is not None:
        _same_client(scoped_get(session, scope, TreatmentSession, session_id), client_id)
    stored = photos.put(data, on_commit_of=session)
    photo = Photo(
        clinic_id=scope.clinic_id,
        client_id=client_id,
        session_id=session_id,
        kind=kind,
        sha256=stored.sha256,
        media_type=stored.media_type,
        width=stored.width,
        height=stored.height,
        byte_size=stored.byte_size,
        marketing_consent=marketing_consent,
        taken_at=taken_at,
    )
    session.add(photo)
    session.flush()
    audit.record(session, scope, "create", "photo", photo.id, client_id=client_id, kind=kind)
    return photo


def set_photo_marketing_consent(
    session: Session, scope: Scope, photo_id: int, consent: bool
) -> Photo:
    """Record the client's yes or no to using this photo in marketing (GDPR art. 7)."""
    scope.require("clinical")
    photo = scoped_get(session, scope, Photo, photo_id)
    photo.marketing_consent = consent
    audit.record(session, scope, "update", "photo", photo.id, marketing_consent=consent)
    return photo


def add_simulation(
    session: Session,
    scope: Scope,
    photos: PhotoStore,
    client_id: int,
    *,
    parameters: dict[str, Any],
    outputs: dict[str, bytes],
    photo_id: int | None = None,
) -> Simulation:
    """Keep a simulation: its parameters and its rendered images (``{file name: bytes}``)."""
    scope.require("clinical")
    scoped_get(session, scope, Client, client_id)
    if photo_id is not None:
        _same_client(scoped_get(session, scope, Photo, photo_id), client_id)
    files = []
    for file_name, data in outputs.items():
        stored = photos.put(data, name=file_name, on_commit_of=session)
        files.append({"name": file_name, "sha256": stored.sha256, "media_type": stored.media_type})
    simulation = Simulation(
        clinic_id=scope.clinic_id,
        client_id=client_id,
        photo_id=photo_id,
        parameters=parameters,
        outputs=files,
    )
    session.add(simulation)
    session.flush()
    audit.record(session, scope, "create", "simulation", simulation.id, client_id=client_id)
    return simulation


# --- consents --------------------------------------------------------------------------


def consent_templates(
    session: Session, scope: Scope, *, name: str | None = None
) -> list[ConsentTemplate]:
    """The clinic's consent templates, every version, by name then version."""
    scope.require("read_records")
    query = select(ConsentTemplate).where(ConsentTemplate.clinic_id == scope.clinic_id)
    if name is not None:
        query = query.where(ConsentTemplate.name == name)
    return list(session.scalars(query.order_by(ConsentTemplate.name, ConsentTemplate.version)))


def latest_template(session: Session, scope: Scope, name: str) -> ConsentTemplate:
    """The newest version of the clinic's template ``name``."""
    versions = consent_templates(session, scope, name=name)
    if not versions:
        raise NotFound(f"no consent template {name!r} in this clinic")
    return versions[-1]


def add_template_version(
    session: Session, scope: Scope, name: str, text: str, *, sources: list[str] | None = None
) -> ConsentTemplate:
    """New wording for a consent: a new version; signed copies keep the old text."""
    scope.require("manage_templates")
    if not name.strip() or not text.strip():
        raise PointillistError("give the template's name and text", field="text")
    current = session.scalar(
        select(func.max(ConsentTemplate.version)).where(
            ConsentTemplate.clinic_id == scope.clinic_id, ConsentTemplate.name == name
        )
    )
    template = ConsentTemplate(
        clinic_id=scope.clinic_id,
        name=name.strip(),
        version=(current or 0) + 1,
        text=text,
        sources=list(sources or []),
    )
    session.add(template)
    session.flush()
    audit.record(
        session, scope, "create", "consent_template", template.id, version=template.version
    )
    return template


def content_sha256(text: str) -> str:
    """SHA-256 of the consent text as shown to the client (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare_consent(session: Session, scope: Scope, client_id: int, *, template_id: int) -> Consent:
    """An unsigned copy of a template for the client, with the clinic's name filled in."""
    scope.require("manage_consents")
    scoped_get(session, scope, Client, client_id)
    template = scoped_get(session, scope, ConsentTemplate, template_id)
    clinic = session.get(Clinic, scope.clinic_id)
    assert clinic is not None
    text = template.text.replace("{clinic}", clinic.name)
    consent = Consent(
        clinic_id=scope.clinic_id,
        client_id=client_id,
        template_id=template.id,
        text=text,
        content_sha256=content_sha256(text),
    )
    session.add(consent)
    session.flush()
    audit.record(session, scope, "create", "consent", consent.id, client_id=client_id)
    return consent


def sign_consent(
    session: Session,
    scope: Scope,
    consent_id: int,
    *,
    signer_name: str,
    signer_ip: str | None,
    seal_key: bytes,
    signed_at: datetime | None = None,
    drawn_signature: str | None = None,
) -> Consent:
    """Sign a prepared consent; from then on it can never change.

    ``seal_key`` (``Settings.integrity_key()``) seals what was signed, so that a row
    rewritten in the database later no longer verifies (:mod:`pointillist.store.integrity`).
    """
    scope.require("manage_consents")
    consent = scoped_get(session, scope, Consent, consent_id)
    if consent.signed_at is not None:
        raise ImmutableRecord(
            f"consent {consent_id} was signed on {consent.signed_at:%Y-%m-%d %H:%M} UTC and cannot "
            "be changed; prepare a new consent instead"
        )
    if not signer_name.strip():
        raise PointillistError("give the name of the person signing", field="signer_name")
    if consent.content_sha256 != content_sha256(consent.text):
        raise ImmutableRecord(
            f"consent {consent_id} text does not match its hash; prepare it again"
        )
    consent.signer_name = signer_name.strip()
    consent.signer_ip = signer_ip
    consent.signed_at = (signed_at or utcnow()).astimezone(UTC)
    consent.drawn_signature = drawn_signature
    # Sealed in the same UPDATE: once signed_at is set, the row can never change again.
    consent.seal = consent_seal(seal_key, consent)
    session.flush()
    audit.record(session, scope, "sign", "consent", consent.id, client_id=consent.client_id)
    return consent


def record_signed_consent(
    session: Session,
    scope: Scope,
    client_id: int,
    *,
    template_id: int,
    signer_name: str,
    signer_ip: str | None,
    seal_key: bytes,
    signed_at: datetime | None = None,
    drawn_signature: str | None = None,
) -> Consent:
    """Prepare and sign in one step (a consent signed on the clinic's tablet)."""
    consent = prepare_consent(session, scope, client_id, template_id=template_id)
    return sign_consent(
        session,
        scope,
        consent.id,
        signer_name=signer_name,
        signer_ip=signer_ip,
        seal_key=seal_key,
        signed_at=signed_at,
        drawn_signature=drawn_signature,
    )


def get_consent(session: Session, scope: Scope, consent_id: int) -> Consent:
    """A consent of the clinic (audited read)."""
    scope.require("read_records")
    return scoped_get(session, scope, Consent, consent_id, audit_read=True)


def has_signed_consent(session: Session, scope: Scope, client_id: int, template_name: str) -> bool:
    """Whether the client has signed any version of the template ``template_name``."""
    found = session.scalar(
        select(Consent.id)
        .join(ConsentTemplate, Consent.template_id == ConsentTemplate.id)
        .where(
            Consent.clinic_id == scope.clinic_id,
            Consent.client_id == client_id,
            Consent.signed_at.is_not(None),
            ConsentTemplate.name == template_name,
        )
        .limit(1)
    )
    return found is not None


def _same_client(row: Any, client_id: int) -> None:
    if row.client_id != client_id:
        raise PointillistError(
            f"{entity_name(type(row)).replace('_', ' ')} {row.id} belongs to another client"
        )
