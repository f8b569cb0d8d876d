"""Engines and sessions for SQLite (the default) and PostgreSQL.

A URL as people write it, ``postgresql://user@host/db`` or ``postgres://...``, is
normalised to the psycopg 3 driver. SQLite connections get foreign keys, WAL and a busy
timeout on every connect, so that the web server and a CLI command can share the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from pointillist.errors import PointillistError

_POSTGRES_NAMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}


def parse_database_url(url: str) -> URL:
    """Parse ``url`` and pick the driver pointillist ships (psycopg 3 for PostgreSQL).

    Raises
    ------
    PointillistError
        If the URL is malformed or names a database pointillist does not support.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise PointillistError(
            f"{url!r} is not a database URL; write e.g. postgresql://user@host/db "
            "or sqlite:///path/to/file.sqlite3"
        ) from None
    if parsed.drivername in _POSTGRES_NAMES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        return parsed.set(drivername="sqlite")
    raise PointillistError(
        f"database {parsed.drivername!r} is not supported; use sqlite:/// or postgresql://"
    )


def normalise_database_url(url: str) -> str:
    """The SQLAlchemy URL string for ``url``, password kept (see :func:`parse_database_url`)."""
    return parse_database_url(url).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return parse_database_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database or another backend."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def libpq_url(url: str) -> str:
    """``url`` as libpq (``pg_dump``, ``psql``) reads it: ``postgresql://`` without driver."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise PointillistError(f"{parsed.drivername} is not a PostgreSQL URL")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, say where transactions begin, so that DDL
    # (migrations) and SAVEPOINTs are transactional too (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    # IMMEDIATE: take the write lock when the transaction starts. Nearly every request
    # reads and then writes (the audit log), and two deferred transactions that both read
    # and then both write end with one of them failing at once ("database is locked",
    # the busy timeout cannot help a lock upgrade). Taking the lock up front makes the
    # second wait for the first instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; a SQLite file's directory is created if missing."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            try:
                # Health data: only the account running pointillist may enter the directory.
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise PointillistError(
                    f"{path.parent}: cannot create the data directory ({exc})"
                ) from None
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker whose objects stay readable after commit (for the web layer)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
