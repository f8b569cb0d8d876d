"""The clinic's own policy files (clinic policy, screening rules, pigment catalogue),
edited on its settings page.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column(
        "clinics",
        sa.Column("policy_files", JSON_DOCUMENT, nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    op.drop_column("clinics", "policy_files")
