"""Engines and sessions for SQLite (the default) and PostgreSQL.

A URL as people write it, ``postgresql://user@host/db`` or ``postgres://...``, is
normalised to the psycopg 3 driver. SQLite connections get foreign keys, WAL and a busy
timeout on every connect, so that the web server and a CLI command can share the file.

SQLite has one writer at a time. A transaction that reads first and writes later (every
request: the sign-in check reads, the audit entry writes) cannot wait for the lock once
another writer has committed after its read began: SQLite answers "database is locked" at
once, whatever the busy timeout. So the web server's engine (``serialise_writes=True``)
starts every SQLite transaction that may write with ``BEGIN IMMEDIATE`` behind one lock
per engine: threads queue in order on that lock (no polling), other processes (a CLI
command) on SQLite's busy timeout. Transactions are kept short (photos are decoded before
theirs begins), so the queue moves. Read requests' transactions never write and begin
without the lock (:mod:`pointillist.store.reads`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from pointillist.errors import PointillistError
from pointillist.store.client_keys import KeyedSession, KeyFile
from pointillist.store.errors import Busy

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


#: How long a transaction waits for the engine's writer lock before giving up (the web app
#: turns the error into 503 + Retry-After); SQLite's own busy timeout, for other processes.
WRITER_WAIT_SECONDS = 10.0
SQLITE_BUSY_TIMEOUT_MS = 5000


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, say where transactions begin, so that DDL
    # (migrations) and SAVEPOINTs are transactional too (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Deleted rows are overwritten with zeros, not just marked free: an erased client's
    # details must not stay readable in the file's free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


#: Execution option of an engine whose transactions only read (see pointillist.store.reads):
#: on SQLite they begin without the write lock, so readers never queue behind writers.
READS_ONLY = "pointillist_reads_only"


def _reads_only(connection: Any) -> bool:
    return bool(connection.get_execution_options().get(READS_ONLY, False))


def _on_sqlite_begin(connection: Any) -> None:
    if _reads_only(connection):
        connection.exec_driver_sql("BEGIN")
        return
    # IMMEDIATE: take the write lock when the transaction starts. Nearly every request
    # reads and then writes (the audit log), and two deferred transactions that both read
    # and then both write end with one of them failing at once ("database is locked",
    # the busy timeout cannot help a lock upgrade). Taking the lock up front makes the
    # second wait for the first instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _serialise_writes(engine: Engine) -> None:
    writer = threading.Lock()

    def begin(connection: Any) -> None:
        if _reads_only(connection):
            # WAL: a reader sees the last commit and never blocks the writer, nor waits.
            connection.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=WRITER_WAIT_SECONDS):
            raise Busy(
                f"the database was busy for {WRITER_WAIT_SECONDS:g} s; try again in a moment"
            )
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        connection.info["holds_writer_lock"] = True

    def end(connection: Any) -> None:
        if connection.info.pop("holds_writer_lock", False):
            writer.release()

    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)


def make_engine(url: str, *, serialise_writes: bool = False, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; a SQLite file's directory is created if missing.

    ``serialise_writes`` (SQLite only; the web server's engine): every transaction takes
    the write lock as it begins, one thread at a time (see the module's docstring).
    """
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
        if serialise_writes:
            _serialise_writes(engine)
        else:
            event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def checkpoint_wal(engine: Engine) -> bool:
    """Copy SQLite's write-ahead log into the database file and empty the log.

    After an erasure the deleted rows' old pages still sit in the WAL until a checkpoint;
    ``TRUNCATE`` waits (busy timeout) for readers, writes every frame back and cuts the
    log to zero bytes. Returns False if readers kept it from completing (the next
    automatic checkpoint finishes the job); True on completion or for PostgreSQL.
    """
    if engine.dialect.name != "sqlite":
        return True
    connection = engine.raw_connection()
    try:
        busy, _frames, _done = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    return not busy


def session_factory(engine: Engine, *, keys: KeyFile) -> sessionmaker[Session]:
    """A sessionmaker whose objects stay readable after commit (for the web layer).

    ``keys``: the data directory's client key file (``Settings.client_keys()``), which
    encrypts and decrypts clients' details and health data; each session caches the keys
    it reads for its own life only.
    """
    return sessionmaker(bind=engine, expire_on_commit=False, class_=KeyedSession, keys=keys)


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
