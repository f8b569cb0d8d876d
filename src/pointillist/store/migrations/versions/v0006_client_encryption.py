"""Clients' details and health data encrypted with a key per client (crypto-shredding).

Adds ``clients.key_ref`` and makes the encrypted columns plain text (ciphertext is longer
than the old ``VARCHAR`` limits and is no longer a date or a JSON document). Rows written
before stay readable as they are; the server encrypts them when it starts
(:func:`pointillist.store.shredding.encrypt_plaintext_rows`): the keys live in the data
directory, which a migration does not see.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:40:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# (table, column, type before, PostgreSQL cast back)
_COLUMNS: tuple[tuple[str, str, sa.types.TypeEngine[Any], str], ...] = (
    ("clients", "name", sa.String(200), "varchar(200)"),
    ("clients", "date_of_birth", sa.Date(), "date"),
    ("clients", "email", sa.String(320), "varchar(320)"),
    ("clients", "phone", sa.String(50), "varchar(50)"),
    ("consultations", "answers", JSON_DOCUMENT, "jsonb"),
    ("consultations", "screening", JSON_DOCUMENT, "jsonb"),
    ("treatment_plans", "snapshot", JSON_DOCUMENT, "jsonb"),
)
# PostgreSQL only: SQLite does not enforce lengths, and copying the consents table would
# drop the triggers that guard signed consents.
_POSTGRES_ONLY: tuple[tuple[str, str, sa.types.TypeEngine[Any]], ...] = (
    ("consents", "signer_name", sa.String(200)),
    ("consents", "signer_ip", sa.String(45)),
)
_ENCRYPTED_TEXT = (
    ("clients", "notes"),
    ("sessions", "notes"),
    ("reminders", "message"),
    ("consents", "drawn_signature"),
)


def upgrade() -> None:
    op.add_column("clients", sa.Column("key_ref", sa.String(48), nullable=True))
    for table in ("clients", "consultations", "treatment_plans"):
        # SQLite: batch mode copies the table (env.py turns foreign keys off for it).
        with op.batch_alter_table(table) as batch:
            for name, column, old, _cast in _COLUMNS:
                if name == table:
                    batch.alter_column(
                        column,
                        type_=sa.Text(),
                        existing_type=old,
                        postgresql_using=f"{column}::text",
                    )
    if op.get_bind().dialect.name == "postgresql":
        for table, column, old in _POSTGRES_ONLY:
            op.alter_column(table, column, type_=sa.Text(), existing_type=old)


def downgrade() -> None:
    connection = op.get_bind()
    encrypted_columns = [
        *((table, column) for table, column, *_ in (*_COLUMNS, *_POSTGRES_ONLY)),
        *_ENCRYPTED_TEXT,
    ]
    for table, column in encrypted_columns:
        encrypted = connection.scalar(
            sa.text(f"SELECT count(*) FROM {table} WHERE {column} LIKE 'pe1:%'")
        )
        if encrypted:
            raise RuntimeError(
                f"{table}.{column} holds encrypted values, which the older schema cannot "
                "read; restore a backup taken before the upgrade instead"
            )
    if connection.dialect.name == "postgresql":
        for table, column, old_type in _POSTGRES_ONLY:
            op.alter_column(table, column, type_=old_type, existing_type=sa.Text())
    for table in ("treatment_plans", "consultations", "clients"):
        with op.batch_alter_table(table) as batch:
            for name, column, old, cast in _COLUMNS:
                if name == table:
                    batch.alter_column(
                        column,
                        type_=old,
                        existing_type=sa.Text(),
                        postgresql_using=f"{column}::{cast}",
                    )
    op.drop_column("clients", "key_ref")
