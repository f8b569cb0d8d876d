"""Database models: what a clinic keeps about its clients, sessions and pigment lots.

Every row belongs to a clinic (``clinic_id``); repositories scope every query by it.
Snapshots from the domain layer (screening result, plan and quote, simulation
parameters) are stored as JSON exactly as produced, so that a record shows what was
decided at the time even after the rules change.

Times are stored in UTC and come back timezone-aware on both databases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    event,
    inspect,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from pointillist.store.client_keys import Encrypted, install, keyring_of

ROLES = ("owner", "practitioner", "front-desk")
PHOTO_KINDS = ("front", "top", "left", "right", "back", "close-up")
SESSION_STATUSES = ("planned", "completed", "cancelled")
REMINDER_KINDS = ("aftercare", "touch-up")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSONDocument,
    }


def _clinic_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)


def _client_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)


class Clinic(Base):
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    licence_number: Mapped[str | None] = mapped_column(String(100))
    licence_authority: Mapped[str | None] = mapped_column(String(200))
    licence_expires_on: Mapped[date | None] = mapped_column(Date)
    # The clinic's own settings from its settings page, in the shape of a clinic file
    # ({"pricing": {...}, "plan": {"calendar": {...}}}), laid over the served policy.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # The clinic's own policy files as the owner typed them on the settings page (TOML
    # text by kind: "clinic", "rules", "pigments"), laid over the files `serve` was given
    # and under the settings above (pointillist.store.clinic.clinic_policy).
    policy_files: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    clinic: Mapped[Clinic] = relationship()


class ApiToken(Base):
    """A bearer token for API clients; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Who minted it: an owner may mint a token for someone else, and the audit log
    # must say so rather than show the holder alone.
    created_by_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A browser session: the cookie is signed, but only a row here keeps it alive, so
    that signing out, an idle spell or a password change ends it on the server."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the cookie's random nonce: a copy of the table opens no session.
    nonce_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class Practitioner(Base):
    __tablename__ = "practitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    licence_number: Mapped[str | None] = mapped_column(String(100))
    licence_authority: Mapped[str | None] = mapped_column(String(200))
    licence_expires_on: Mapped[date | None] = mapped_column(Date)
    experience_tier: Mapped[str | None] = mapped_column(String(50))
    impressions_per_minute: Mapped[float | None] = mapped_column(Float)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    # The client's own key in the data directory's key file: erasure destroys it, and
    # with it every copy of the encrypted fields below (pointillist.store.client_keys).
    key_ref: Mapped[str | None] = mapped_column(String(48))
    name_ciphertext: Mapped[str] = mapped_column("name", Text)
    date_of_birth_ciphertext: Mapped[str | None] = mapped_column("date_of_birth", Text)
    email_ciphertext: Mapped[str | None] = mapped_column("email", Text)
    phone_ciphertext: Mapped[str | None] = mapped_column("phone", Text)
    notes_ciphertext: Mapped[str] = mapped_column("notes", Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Whether the clinic may send this client its timed messages (aftercare, appointment
    # reminders, touch-up recall) by e-mail and by SMS; an unsubscribe link clears the
    # first and notes when (pointillist.messaging).
    email_consent: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    email_opted_out_at: Mapped[datetime | None]

    # Listed: the list of clients sorts by name and searches name, e-mail and phone.
    name = Encrypted[str]("name_ciphertext", listed=True)
    date_of_birth = Encrypted[date | None]("date_of_birth_ciphertext", "date")
    email = Encrypted[str | None]("email_ciphertext", listed=True)
    phone = Encrypted[str | None]("phone_ciphertext", listed=True)
    notes = Encrypted[str]("notes_ciphertext")


class Consultation(Base):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    client_id: Mapped[int] = _client_fk()
    practitioner_id: Mapped[int | None] = mapped_column(
        ForeignKey("practitioners.id", ondelete="SET NULL")
    )
    answers_ciphertext: Mapped[str] = mapped_column("answers", Text)
    screening_ciphertext: Mapped[str] = mapped_column("screening", Text)
    rules_version: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    answers = Encrypted[dict[str, Any]]("answers_ciphertext", "json")
    screening = Encrypted[dict[str, Any]]("screening_ciphertext", "json")


class ConsentTemplate(Base):
    """A version of a consent text; new wording is a new version, never an edit."""

    __tablename__ = "consent_templates"
    __table_args__ = (UniqueConstraint("clinic_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """A client's copy of a consent text; once signed, the database refuses any change."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    client_id: Mapped[int] = _client_fk()
    template_id: Mapped[int] = mapped_column(ForeignKey("consent_templates.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    # Text on PostgreSQL, which enforces lengths and ciphertext is longer; SQLite keeps
    # the declared type it was created with (it would copy the table, triggers and all).
    signer_name_ciphertext: Mapped[str | None] = mapped_column(
        "signer_name", String(200).with_variant(Text(), "postgresql")
    )
    signer_ip_ciphertext: Mapped[str | None] = mapped_column(
        "signer_ip", String(45).with_variant(Text(), "postgresql")
    )
    signed_at: Mapped[datetime | None]
    # The signature drawn on the screen, kept verbatim (an SVG path or a data: URL).
    drawn_signature_ciphertext: Mapped[str | None] = mapped_column("drawn_signature", Text)
    # HMAC-SHA256 over what was signed, with the key in the data directory (see
    # pointillist.store.integrity): a row rewritten in the database no longer matches.
    seal: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    signer_name = Encrypted[str | None]("signer_name_ciphertext")
    signer_ip = Encrypted[str | None]("signer_ip_ciphertext")
    drawn_signature = Encrypted[str | None]("drawn_signature_ciphertext")

    template: Mapped[ConsentTemplate] = relationship()


session_bottles = Table(
    "session_bottles",
    Base.metadata,
    Column(
        "session_id",
        ForeignKey("sessions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "bottle_id",
        ForeignKey("pigment_bottles.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
)


class PigmentBottle(Base):
    __tablename__ = "pigment_bottles"
    __table_args__ = (Index("ix_pigment_bottles_clinic_lot", "clinic_id", "lot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    brand: Mapped[str] = mapped_column(String(100))
    shade: Mapped[str] = mapped_column(String(100))
    lot: Mapped[str] = mapped_column(String(100))
    expires_on: Mapped[date] = mapped_column(Date)
    opened_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TreatmentPlan(Base):
    __tablename__ = "treatment_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    client_id: Mapped[int] = _client_fk()
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="SET NULL")
    )
    snapshot_ciphertext: Mapped[str] = mapped_column("snapshot", Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    snapshot = Encrypted[dict[str, Any]]("snapshot_ciphertext", "json")


class TreatmentSession(Base):
    """One SMP session: when, who, where on the scalp, with which needle and lots."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(_one_of("status", SESSION_STATUSES), name="status"),
        # The calendar and the double-booking check read a practitioner's day.
        Index("ix_sessions_practitioner_day", "practitioner_id", "scheduled_on"),
        CheckConstraint("duration_minutes IS NULL OR duration_minutes > 0", name="duration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    client_id: Mapped[int] = _client_fk()
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_plans.id", ondelete="SET NULL")
    )
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    scheduled_on: Mapped[date] = mapped_column(Date)
    # Local wall-clock time the appointment starts; None for sessions booked by day only.
    start_time: Mapped[time | None] = mapped_column(Time)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    zones: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    needle: Mapped[str | None] = mapped_column(String(50))
    notes_ciphertext: Mapped[str] = mapped_column("notes", Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="planned")
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    notes = Encrypted[str]("notes_ciphertext")

    practitioner: Mapped[Practitioner] = relationship()
    bottles: Mapped[list[PigmentBottle]] = relationship(
        secondary=session_bottles, order_by=PigmentBottle.id
    )


class Photo(Base):
    __tablename__ = "photos"
    __table_args__ = (CheckConstraint(_one_of("kind", PHOTO_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    client_id: Mapped[int] = _client_fk()
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(50))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    taken_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Simulation(Base):
    __tablename__ = "simulations"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    client_id: Mapped[int] = _client_fk()
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="SET NULL"))
    parameters: Mapped[dict[str, Any]]
    # [{"name": "session-1.png", "sha256": "...", "media_type": "image/png"}, ...]
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (CheckConstraint(_one_of("kind", REMINDER_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    client_id: Mapped[int] = _client_fk()
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    message_ciphertext: Mapped[str] = mapped_column("message", Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message = Encrypted[str]("message_ciphertext")


class AuditEntry(Base):
    """Who read or changed which record, when. Holds identifiers, never client data."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "clinic_id", "entity", "entity_id"),
        Index("uq_audit_log_seq", "seq", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    # No foreign key: the entry outlives the user account it names.
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The API token the action came with, if any (its minter is named in ``actor``).
    api_token_id: Mapped[int | None] = mapped_column(Integer)
    # Position in the chain and HMAC over the previous link and this entry, filled in
    # by pointillist.store.integrity.seal_audit_log shortly after the entry commits.
    seq: Mapped[int | None] = mapped_column(Integer)
    chain_hash: Mapped[str | None] = mapped_column(String(64))


@event.listens_for(Consent, "before_update")
def _refuse_signed_consent_change(_mapper: Any, _connection: Any, target: Consent) -> None:
    # The database triggers refuse it too; this catches it before the round trip.
    history = inspect(target).attrs.signed_at.history
    was_signed = any(v is not None for v in (*history.unchanged, *history.deleted))
    if was_signed:
        raise SignedConsentError(target.id)


class SignedConsentError(Exception):
    """Raised by the ORM when code tries to change a signed consent (a bug, not a user error)."""

    def __init__(self, consent_id: int | None) -> None:
        super().__init__(f"consent {consent_id} is signed and cannot be changed")


# --- messages sent to clients (pointillist.messaging) ----------------------------------

MESSAGE_KINDS = ("aftercare", "aftercare-end", "appointment", "touch-up")
MESSAGE_CHANNELS = ("email", "sms")
#: due: waiting for its time or its next attempt; sending: claimed by a worker (with a
#: lease); sent; failed: gave up or refused for good; uncertain: a worker stopped while
#: sending, so it may have gone out (never re-sent on its own); cancelled; skipped: not
#: sendable (no address, no consent, too late).
MESSAGE_STATUSES = ("due", "sending", "sent", "failed", "uncertain", "cancelled", "skipped")
SMTP_SECURITY = ("starttls", "tls", "none")


class OutboxMessage(Base):
    """One message to one client on one channel: what is due, what went, what failed."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_one_of("kind", MESSAGE_KINDS), name="kind"),
        CheckConstraint(_one_of("channel", MESSAGE_CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", MESSAGE_STATUSES), name="status"),
        # What makes a message the same message: planned twice (two workers, a restart),
        # it is inserted once.
        UniqueConstraint("clinic_id", "channel", "dedupe_key"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = _clinic_fk()
    client_id: Mapped[int] = _client_fk()
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    reminder_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminders.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="due")
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    # Set and committed before the SMTP conversation starts: a copy that went out while
    # its worker died can be found in the mail server's log by it.
    message_id: Mapped[str | None] = mapped_column(String(300))
    recipient: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MessagingSettings(Base):
    """A clinic's mail server, SMS webhook and message templates (its settings page)."""

    __tablename__ = "messaging_settings"
    __table_args__ = (CheckConstraint(_one_of("smtp_security", SMTP_SECURITY), name="security"),)

    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinics.id", ondelete="CASCADE"), primary_key=True
    )
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    smtp_host: Mapped[str] = mapped_column(String(255), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=587)
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls")
    smtp_user: Mapped[str] = mapped_column(String(320), default="")
    # Kept as given (the server needs it to sign in to the mail server) and never shown
    # back on a page or in an API answer.
    smtp_password: Mapped[str] = mapped_column(String(500), default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_webhook_url: Mapped[str] = mapped_column(String(1000), default="")
    sms_auth_header: Mapped[str] = mapped_column(String(1000), default="")
    sms_body_template: Mapped[str] = mapped_column(Text, default="")
    # Where the clinic's server is reached from a client's phone (unsubscribe links).
    public_url: Mapped[str] = mapped_column(String(500), default="")
    # The clinic's IANA time zone: appointment times are local wall-clock times.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # {"appointment": {"subject": ..., "text": ..., "html": ..., "sms": ...}, ...}: the
    # clinic's own wording; a part left out uses the shipped default.
    templates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _key_ref_of(session: Session, row: Any) -> str:
    """The key a row's encrypted fields use: its client's, created on first need."""
    client = row if isinstance(row, Client) else session.get(Client, row.client_id)
    if client is None:
        raise ValueError(f"{type(row).__name__} names client {row.client_id}, which does not exist")
    if client.key_ref is None:
        client.key_ref = keyring_of(session).new_key()
    return client.key_ref


install(Session, _key_ref_of)
