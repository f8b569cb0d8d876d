"""Appointment start times on sessions; the clinic's own settings (hours, prices, currency).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy): SQLite adds and drops columns in place.
    op.add_column("sessions", sa.Column("start_time", sa.Time(), nullable=True))
    op.create_index("ix_sessions_practitioner_day", "sessions", ["practitioner_id", "scheduled_on"])
    op.add_column(
        "clinics", sa.Column("settings", JSON_DOCUMENT, nullable=False, server_default="{}")
    )


def downgrade() -> None:
    op.drop_column("clinics", "settings")
    op.drop_index("ix_sessions_practitioner_day", table_name="sessions")
    op.drop_column("sessions", "start_time")
