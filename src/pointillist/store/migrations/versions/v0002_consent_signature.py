"""Consents keep the drawn signature: the PNG's SHA-256 in the photo store.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 04:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: consents signed before this revision (or through the API, with a typed
    # name only) have no drawn signature.
    # Plain ALTER TABLE, not a batch copy: SQLite adds and drops a column in place, and
    # copying the table would lose the trigger that keeps signed consents immutable.
    op.add_column("consents", sa.Column("signature_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("consents", "signature_sha256")
