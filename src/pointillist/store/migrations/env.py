"""Alembic environment: runs migrations on the connection or URL the caller passes.

Called through :func:`pointillist.store.migrate.upgrade_to_head` and friends, which put
the URL (or an open connection) in ``config.attributes``; there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, pool

from pointillist.store.db import make_engine
from pointillist.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch mode drops and re-creates tables; with foreign keys on, the drop would
        # cascade into the rows that reference them.
        # Outside any transaction, or SQLite ignores it: hence the raw DB-API connection.
        driver_connection = connection.connection.driver_connection
        assert driver_connection is not None
        driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode copies the table.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.attributes["url"], poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; give a database URL")
run_migrations_online()
