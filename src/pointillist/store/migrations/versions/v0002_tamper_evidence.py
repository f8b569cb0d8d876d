"""Tamper evidence: sealed consents, an append-only chained audit log, token minters.

Signed consents get a ``seal`` (HMAC with a key kept in the data directory) and may
carry the ``drawn_signature``. Triggers now also refuse deleting a signed consent (unless
the audit log records the client's erasure after the signing) and re-inserting one over
itself (SQLite's ``INSERT OR REPLACE``, whose delete fires no trigger); the audit log
refuses every delete and every change except filling in its chain once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SIGNED = "consent is signed and cannot be deleted or replaced"
_APPEND_ONLY = "the audit log is append-only"

# An erasure (GDPR art. 17) may remove a signed consent, but only once the erasure of
# its client, later than the signing, is in the append-only audit log.
_ERASED = """
    EXISTS (
        SELECT 1 FROM audit_log
        WHERE audit_log.action = 'erase' AND audit_log.entity = 'client'
          AND audit_log.clinic_id = OLD.clinic_id AND audit_log.entity_id = OLD.client_id
          AND audit_log.at >= OLD.signed_at
    )
"""

# Every column an entry is born with: none may change; seq and chain_hash are filled once.
_AUDIT_CONTENT = (
    "id",
    "clinic_id",
    "user_id",
    "actor",
    "action",
    "entity",
    "entity_id",
    "detail",
    "at",
    "api_token_id",
)

SQLITE_TRIGGERS = {
    "consents_signed_no_delete": f"""
        CREATE TRIGGER consents_signed_no_delete BEFORE DELETE ON consents
        WHEN OLD.signed_at IS NOT NULL AND NOT {_ERASED}
        BEGIN SELECT RAISE(ABORT, '{_SIGNED}'); END
    """,
    "consents_signed_no_replace": f"""
        CREATE TRIGGER consents_signed_no_replace BEFORE INSERT ON consents
        WHEN EXISTS (SELECT 1 FROM consents WHERE id = NEW.id AND signed_at IS NOT NULL)
        BEGIN SELECT RAISE(ABORT, '{_SIGNED}'); END
    """,
    # UPDATE OR REPLACE moving another row onto a signed consent's id would delete it.
    "consents_id_fixed": f"""
        CREATE TRIGGER consents_id_fixed BEFORE UPDATE OF id ON consents
        WHEN NEW.id IS NOT OLD.id
        BEGIN SELECT RAISE(ABORT, '{_SIGNED}'); END
    """,
    "audit_log_no_delete": f"""
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END
    """,
    "audit_log_no_replace": f"""
        CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
        WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
        BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END
    """,
    "audit_log_no_update": f"""
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        WHEN OLD.chain_hash IS NOT NULL OR OLD.seq IS NOT NULL
          OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _AUDIT_CONTENT)}
        BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END
    """,
}

POSTGRES_FUNCTIONS = {
    "consents_refuse_signed_delete": f"""
        CREATE FUNCTION consents_refuse_signed_delete() RETURNS trigger AS $$
        BEGIN
            IF OLD.signed_at IS NOT NULL AND NOT {_ERASED} THEN
                RAISE EXCEPTION '{_SIGNED}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN OLD;
        END
        $$ LANGUAGE plpgsql
    """,
    "audit_log_refuse_change": f"""
        CREATE FUNCTION audit_log_refuse_change() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR OLD.chain_hash IS NOT NULL OR OLD.seq IS NOT NULL
               OR ({", ".join(f"NEW.{c}" for c in _AUDIT_CONTENT)})
                  IS DISTINCT FROM ({", ".join(f"OLD.{c}" for c in _AUDIT_CONTENT)}) THEN
                RAISE EXCEPTION '{_APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
    """,
    # Row triggers do not see TRUNCATE.
    "refuse_truncate": """
        CREATE FUNCTION refuse_truncate() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% cannot be truncated', TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END
        $$ LANGUAGE plpgsql
    """,
}

POSTGRES_TRIGGERS = {
    "consents_signed_no_delete": "CREATE TRIGGER consents_signed_no_delete BEFORE DELETE ON "
    "consents FOR EACH ROW EXECUTE FUNCTION consents_refuse_signed_delete()",
    "consents_no_truncate": "CREATE TRIGGER consents_no_truncate BEFORE TRUNCATE ON consents "
    "FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate()",
    "audit_log_append_only": "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON "
    "audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()",
    "audit_log_no_truncate": "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate()",
}


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: copying the tables would drop their triggers.
    op.add_column("consents", sa.Column("drawn_signature", sa.Text(), nullable=True))
    op.add_column("consents", sa.Column("seal", sa.String(length=64), nullable=True))
    op.add_column("api_tokens", sa.Column("created_by_user_id", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("api_token_id", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("chain_hash", sa.String(length=64), nullable=True))
    op.create_index("uq_audit_log_seq", "audit_log", ["seq"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        for sql in (*POSTGRES_FUNCTIONS.values(), *POSTGRES_TRIGGERS.values()):
            op.execute(sql)
    else:
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in POSTGRES_TRIGGERS:
            table = "consents" if name.startswith("consents") else "audit_log"
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("uq_audit_log_seq", table_name="audit_log")
    for table, column in (
        ("audit_log", "chain_hash"),
        ("audit_log", "seq"),
        ("audit_log", "api_token_id"),
        ("api_tokens", "created_by_user_id"),
        ("consents", "seal"),
        ("consents", "drawn_signature"),
    ):
        # Native DROP COLUMN (SQLite 3.35+): batch mode would copy the table and lose the
        # triggers of revision 0001.
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
