"""Tamper evidence: sealed consents, the audit log's chain and the database's guards.

A signed consent is evidence, and so is the audit log. Three layers protect them:

- **Triggers** (migrations 0001 and 0002) make the database itself refuse to change,
  delete or replace a signed consent, and to change or delete an audit entry, whatever
  program or SQL prompt tries. :func:`require_guards` refuses to start the server when
  one of them is missing, disabled or emptied, since someone with the database owner's
  rights can drop them.
- **Seals**: each signed consent carries an HMAC-SHA256 over what was signed (text,
  signer, time, address, drawn signature and the row's place), keyed with a file in the
  data directory that is never stored in the database. Someone who can rewrite the
  database but not read that file cannot make a forged consent verify.
- **A chain**: every audit entry gets a position and an HMAC over the previous link and
  its own content, so that a removed, reordered or edited entry breaks the chain at that
  point (:func:`verify_audit_log`, ``pointillist admin verify-audit``).

Entries are chained shortly after they commit (:func:`seal_audit_log`, called by the
server in the background and by ``verify-audit``), not inside the request: chaining in
the request would serialise every writer on the last link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from pointillist.errors import PointillistError
from pointillist.store.models import AuditEntry, Consent

#: The link before the first audit entry.
GENESIS = "0" * 64

#: Triggers the server needs, per database (created by migrations 0001 and 0002).
SQLITE_GUARDS = (
    "consents_signed_immutable",
    "consents_signed_no_delete",
    "consents_signed_no_replace",
    "consents_id_fixed",
    "audit_log_no_delete",
    "audit_log_no_replace",
    "audit_log_no_update",
)
POSTGRES_GUARDS = (
    "consents_signed_immutable",
    "consents_signed_no_delete",
    "consents_no_truncate",
    "audit_log_append_only",
    "audit_log_no_truncate",
)

# Any number: the advisory lock that lets one sealer at a time extend the chain.
_SEALER_LOCK = 0x706F696E


def _mac(key: bytes, purpose: str, fields: list[Any]) -> str:
    message = json.dumps([purpose, *fields], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def consent_seal(key: bytes, consent: Consent) -> str:
    """The HMAC-SHA256 (hex) of a signed consent: what was signed, by whom, when, where.

    The row's id, clinic, client and template are included so that a sealed consent
    cannot be moved to another client or passed off as another one.
    """
    return _mac(
        key,
        "consent-v1",
        [
            consent.id,
            consent.clinic_id,
            consent.client_id,
            consent.template_id,
            consent.text,
            consent.content_sha256,
            consent.signer_name,
            consent.signer_ip,
            _iso(consent.signed_at),
            consent.drawn_signature,
        ],
    )


def consent_verified(key: bytes, consent: Consent) -> bool | None:
    """Whether a signed consent's seal matches its content; None while it is unsigned.

    False for a signed consent without a seal too: its signing cannot be vouched for.
    """
    if consent.signed_at is None:
        return None
    if not consent.seal:
        return False
    return hmac.compare_digest(consent.seal, consent_seal(key, consent))


def _audit_link(key: bytes, previous: str, seq: int, entry: AuditEntry) -> str:
    return _mac(
        key,
        "audit-v1",
        [
            previous,
            seq,
            entry.id,
            entry.clinic_id,
            entry.user_id,
            entry.actor,
            entry.action,
            entry.entity,
            entry.entity_id,
            json.dumps(entry.detail, sort_keys=True, ensure_ascii=False),
            _iso(entry.at),
            entry.api_token_id,
        ],
    )


def seal_audit_log(session: Session, key: bytes, *, batch: int = 1000) -> int:
    """Chain up to ``batch`` committed entries that are not chained yet, in id order.

    Flushes but does not commit. Returns how many entries were chained: 0 also when
    another process holds the sealer's lock (it chains them instead).
    """
    if session.get_bind().dialect.name == "postgresql":
        locked = session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _SEALER_LOCK})
        if not locked:
            return 0
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.chain_hash)
        .where(AuditEntry.seq.is_not(None))
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    seq, previous = (int(last.seq), str(last.chain_hash)) if last else (0, GENESIS)
    pending = session.scalars(
        select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id).limit(batch)
    ).all()
    for entry in pending:
        seq += 1
        previous = _audit_link(key, previous, seq, entry)
        entry.seq = seq
        entry.chain_hash = previous
    session.flush()
    return len(pending)


@dataclass
class AuditVerification:
    """What :func:`verify_audit_log` found.

    Attributes
    ----------
    chained
        Entries checked along the chain.
    pending
        Entries not chained yet (just written; ``verify-audit`` chains them first).
    problems
        One sentence per break in the chain; empty when the log is intact.
    """

    chained: int = 0
    pending: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when every chained entry is where and what it was when chained."""
        return not self.problems


def verify_audit_log(session: Session, key: bytes) -> AuditVerification:
    """Walk the chain from its start and report every entry missing, moved or changed."""
    report = AuditVerification()
    previous = GENESIS
    expected = 1
    query = select(AuditEntry).where(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq)
    for entry in session.scalars(query.execution_options(yield_per=1000)):
        assert entry.seq is not None and entry.chain_hash is not None
        if entry.seq != expected:
            report.problems.append(
                f"entries {expected} to {entry.seq - 1} of the chain are missing "
                f"(deleted before entry id {entry.id})"
            )
            # Carry on from the entry's own link: later breaks are reported separately.
            previous = _recorded_link_before(session, entry.seq)
        link = _audit_link(key, previous, entry.seq, entry)
        if not hmac.compare_digest(link, entry.chain_hash):
            report.problems.append(
                f"audit entry id {entry.id} (position {entry.seq}) was changed or its chain "
                "link forged"
            )
        previous = entry.chain_hash
        expected = entry.seq + 1
        report.chained += 1
    report.pending = int(session.scalar(select(func.count()).where(AuditEntry.seq.is_(None))) or 0)
    return report


def _recorded_link_before(session: Session, seq: int) -> str:
    link = session.scalar(
        select(AuditEntry.chain_hash)
        .where(AuditEntry.seq < seq)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )
    return link or GENESIS


def missing_guards(connection: Connection) -> list[str]:
    """The triggers (or settings) protecting consents and the audit log that are not in
    force: missing, disabled, or with their refusal taken out."""
    if connection.dialect.name == "postgresql":
        problems = []
        role = connection.scalar(text("SELECT current_setting('session_replication_role')"))
        if role != "origin":
            problems.append(f"session_replication_role is {role!r} (triggers do not fire)")
        rows = connection.execute(
            text(
                "SELECT t.tgname, t.tgenabled, p.prosrc FROM pg_trigger t "
                "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND c.relname IN ('consents', 'audit_log')"
            )
        ).all()
        found = {name: (enabled, source) for name, enabled, source in rows}
        for name in POSTGRES_GUARDS:
            if name not in found:
                problems.append(f"trigger {name} is missing")
            elif found[name][0] in ("D", "R"):
                problems.append(f"trigger {name} is disabled")
            elif "RAISE EXCEPTION" not in found[name][1].upper():
                problems.append(f"trigger {name} no longer refuses anything")
        return problems
    rows = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    ).all()
    sql_of = {name: sql or "" for name, sql in rows}
    problems = []
    for name in SQLITE_GUARDS:
        if name not in sql_of:
            problems.append(f"trigger {name} is missing")
        elif "RAISE(ABORT" not in sql_of[name].upper().replace(" ", ""):
            problems.append(f"trigger {name} no longer refuses anything")
    return problems


def require_guards(engine: Engine) -> None:
    """Refuse to go on when the database no longer protects consents and the audit log.

    Raises
    ------
    PointillistError
        Naming every missing or disabled guard and how to restore them.
    """
    with engine.connect() as connection:
        problems = missing_guards(connection)
    if problems:
        raise PointillistError(
            "the database no longer protects signed consents and the audit log ("
            + "; ".join(problems)
            + "): someone changed its triggers. Restore the database from a backup and run "
            "'pointillist admin verify-audit' before serving again"
        )
