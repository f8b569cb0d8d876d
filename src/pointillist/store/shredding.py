"""Keeping erasure true over time: encrypting rows written before encryption, and
re-applying erasures to a database restored from a backup older than them.

The erasure ledger is the client key file itself (:mod:`pointillist.store.client_keys`):
erasure zeroes a client's key there, in the data directory, outside the database and its
backups. A backup taken before an erasure still holds the client's rows; restoring it
puts them back in the database, and :func:`reapply_erasures` then erases again every
client whose key the ledger says was destroyed, before anyone can read them (they could
not be decrypted anyway: the key is gone).
"""

from __future__ import annotations

from sqlalchemy import and_, not_, or_, select, text
from sqlalchemy.orm import Session

from pointillist.store.client_keys import PREFIX, destroyed_refs, encrypted_fields, keyring_of
from pointillist.store.export import erase_client
from pointillist.store.models import Client, Consultation, Reminder, TreatmentPlan, TreatmentSession
from pointillist.store.photos import PhotoStore
from pointillist.store.scope import Scope

#: Models whose rows from before encryption are encrypted at start. Not consents: the
#: signer's name, address and drawing of a consent signed before then are protected by
#: the triggers that refuse any change to a signed consent, and stay as they were.
ENCRYPTED_MODELS = (Client, Consultation, TreatmentPlan, TreatmentSession, Reminder)


# Any number, distinct from the audit sealer's: the lock of the one-time encryption.
_ENCRYPTING_LOCK = 0x70656E63


def encrypt_plaintext_rows(session: Session, *, batch: int = 500) -> int:
    """Encrypt every value still stored as plain text (rows from before migration 0006).

    Run by the server as it starts and after a restore; flushes, the caller commits.
    Returns how many rows were encrypted (0 once done: it is cheap to run again).
    """
    if session.get_bind().dialect.name == "postgresql":
        # Server workers start together: one encrypts, the others then find nothing to do
        # (two would give a client two keys, and erasure destroys only one of them).
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ENCRYPTING_LOCK})
    done = 0
    for model in ENCRYPTED_MODELS:
        fields = encrypted_fields(model)
        table = model.__table__
        plain = [
            and_(
                table.c[f.name].is_not(None),
                table.c[f.name] != "",
                not_(table.c[f.name].like(PREFIX + "%")),
            )
            for f in fields
        ]
        if model is Client:
            plain.append(Client.key_ref.is_(None))
        while True:
            rows = session.scalars(select(model).where(or_(*plain)).limit(batch)).all()
            if not rows:
                break
            for row in rows:
                for field in fields:
                    value = getattr(row, field.name)
                    if value is not None and value != "":
                        setattr(row, field.name, value)
            session.flush()
            done += len(rows)
    return done


def reapply_erasures(session: Session, photos: PhotoStore) -> list[int]:
    """Erase again every client whose key the ledger (the key file) says was destroyed.

    For a database restored from a backup taken before some erasures. Each is logged
    as an erasure by ``restore``. Flushes; the caller commits. Returns the client ids.
    """
    destroyed = sorted(destroyed_refs(keyring_of(session).file))
    erased: list[int] = []
    for start in range(0, len(destroyed), 500):
        refs = destroyed[start : start + 500]
        clients = session.scalars(select(Client).where(Client.key_ref.in_(refs))).all()
        for client in clients:
            scope = Scope(clinic_id=client.clinic_id, role="owner", actor="restore")
            erase_client(session, scope, photos, client.id)
            erased.append(client.id)
    return erased
