"""Apply, roll back and inspect the database schema (Alembic, run from Python).

The migrations ship inside the package (``pointillist/store/migrations``), so a clinic
upgrades its database with ``pointillist serve`` or :func:`upgrade_to_head`, with no
alembic.ini.
"""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.exc import OperationalError

from pointillist.errors import PointillistError
from pointillist.store.db import make_engine, normalise_database_url, parse_database_url


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that points at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(resources.files(__package__) / "migrations"))
    config.attributes["url"] = normalise_database_url(url)
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this version of pointillist."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise AssertionError("the package ships no migrations")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None if it has never been migrated."""
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise unreachable_error(url, exc) from None
    finally:
        engine.dispose()


def upgrade_to_head(url: str) -> str:
    """Bring the database at ``url`` to the newest schema; safe to call on every start.

    Returns the revision the database is at afterwards.
    """
    try:
        command.upgrade(alembic_config(url), "head")
    except OperationalError as exc:
        raise unreachable_error(url, exc) from None
    return head_revision()


def downgrade(url: str, revision: str) -> None:
    """Roll the database at ``url`` back to ``revision`` (``"base"`` empties it)."""
    try:
        command.downgrade(alembic_config(url), revision)
    except OperationalError as exc:
        raise unreachable_error(url, exc) from None


def unreachable_error(url: str, exc: OperationalError) -> PointillistError:
    """The user error for a database that cannot be opened (password hidden)."""
    shown = parse_database_url(url).render_as_string(hide_password=True)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return PointillistError(
        f"cannot open the database {shown}: {reason}; "
        "check --database-url / POINTILLIST_DATABASE_URL and that the server is running"
    )
