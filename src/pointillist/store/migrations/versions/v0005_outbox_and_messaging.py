"""Messages sent to clients: the outbox, the clinic's mail and SMS settings, and each
client's e-mail and SMS consent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Existing clients keep getting their service messages until they opt out.
    op.add_column(
        "clients",
        sa.Column("email_consent", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "clients",
        sa.Column("sms_consent", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("clients", sa.Column("email_opted_out_at", TIMESTAMP, nullable=True))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("message_id", sa.String(300), nullable=True),
        sa.Column("recipient", sa.String(320), nullable=True),
        sa.Column("subject", sa.String(300), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name="fk_outbox_clinic_id_clinics", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_outbox_client_id_clients", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_outbox_session_id_sessions",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["reminders.id"],
            name="fk_outbox_reminder_id_reminders",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "kind IN ('aftercare', 'aftercare-end', 'appointment', 'touch-up')",
            name="ck_outbox_kind",
        ),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_outbox_channel"),
        sa.CheckConstraint(
            "status IN ('due', 'sending', 'sent', 'failed', 'uncertain', 'cancelled', 'skipped')",
            name="ck_outbox_status",
        ),
        sa.UniqueConstraint(
            "clinic_id", "channel", "dedupe_key", name="uq_outbox_clinic_id_channel_dedupe_key"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_clinic_id", "outbox", ["clinic_id"])
    op.create_index("ix_outbox_client_id", "outbox", ["client_id"])
    op.create_index("ix_outbox_session_id", "outbox", ["session_id"])
    op.create_index("ix_outbox_reminder_id", "outbox", ["reminder_id"])
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "messaging_settings",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("smtp_host", sa.String(255), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_security", sa.String(10), nullable=False),
        sa.Column("smtp_user", sa.String(320), nullable=False),
        sa.Column("smtp_password", sa.String(500), nullable=False),
        sa.Column("from_address", sa.String(320), nullable=False),
        sa.Column("sms_enabled", sa.Boolean(), nullable=False),
        sa.Column("sms_webhook_url", sa.String(1000), nullable=False),
        sa.Column("sms_auth_header", sa.String(1000), nullable=False),
        sa.Column("sms_body_template", sa.Text(), nullable=False),
        sa.Column("public_url", sa.String(500), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("templates", JSON_DOCUMENT, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name="fk_messaging_settings_clinic_id_clinics",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "smtp_security IN ('starttls', 'tls', 'none')", name="ck_messaging_settings_security"
        ),
        sa.PrimaryKeyConstraint("clinic_id", name="pk_messaging_settings"),
    )


def downgrade() -> None:
    op.drop_table("messaging_settings")
    op.drop_index("ix_outbox_status_next", table_name="outbox")
    op.drop_index("ix_outbox_reminder_id", table_name="outbox")
    op.drop_index("ix_outbox_session_id", table_name="outbox")
    op.drop_index("ix_outbox_client_id", table_name="outbox")
    op.drop_index("ix_outbox_clinic_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_column("clients", "email_opted_out_at")
    op.drop_column("clients", "sms_consent")
    op.drop_column("clients", "email_consent")
