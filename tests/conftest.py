"""Database fixtures shared by the store and web tests.

Every test that asks for ``database_url`` (or anything built on it) runs twice: on SQLite
(a temporary file) and on PostgreSQL (a fresh database named ``pointillist_test_<hex>``
created on the server in ``POINTILLIST_TEST_POSTGRES_URL`` and dropped afterwards). The
PostgreSQL run is skipped, with the reason shown in pytest's summary, when that variable
is unset or the server cannot be reached.

One migrated database per backend serves the whole test session; tables are emptied
after each test that used it, so tests stay fast and independent.

Fixtures
--------
database_url
    URL of a database migrated to the newest schema (session scope, parametrised).
engine
    SQLAlchemy engine on ``database_url`` (session scope).
clean_database
    Empties every table after the test; for tests (API tests) that open their own sessions.
db
    An ORM ``Session`` on ``engine``; implies ``clean_database``.
empty_database_url
    Factory: ``empty_database_url()`` returns the URL of a new, empty database of the same
    backend (for migration and restore tests).
data_dir, settings
    A temporary data directory and :class:`pointillist.settings.Settings` using it and
    ``database_url``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "POINTILLIST_TEST_POSTGRES_URL"


class _Backend:
    """Creates databases of one kind and removes them at the end of the session."""

    def __init__(self, name: str, tmp_dir: Path) -> None:
        self.name = name
        self._tmp_dir = tmp_dir
        self._created: list[str] = []
        self._server_url = ""
        if name == "postgresql":
            self._server_url = _reachable_postgres()

    def new_database(self) -> str:
        if self.name == "sqlite":
            path = self._tmp_dir / f"db-{uuid.uuid4().hex[:12]}.sqlite3"
            return f"sqlite:///{path}"
        from sqlalchemy.engine import make_url

        name = f"pointillist_test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return make_url(self._server_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self._created:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(_libpq(self._server_url), autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]


def _libpq(url: str) -> str:
    from pointillist.store.db import libpq_url

    return libpq_url(url)


def _reachable_postgres() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        pytest.skip(f"PostgreSQL tests: {POSTGRES_ENV} is not set")
    import psycopg

    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.skip(f"PostgreSQL tests: cannot reach {POSTGRES_ENV} ({reason})")
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    backend = _Backend(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))
    yield backend
    backend.drop_all()


@pytest.fixture(scope="session")
def database_url(database_backend: _Backend) -> str:
    from pointillist.store.migrate import upgrade_to_head

    url = database_backend.new_database()
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str):
    from pointillist.store.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_database(engine) -> Iterator[None]:
    yield
    from sqlalchemy import text

    from pointillist.store.models import Base

    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    # The guard triggers refuse to empty the audit log and signed consents, as they
    # should; the tests step round them (PostgreSQL: replica mode fires no trigger;
    # SQLite: drop them and put them back).
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            triggers = connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, _sql in triggers:
                connection.execute(text(f"DROP TRIGGER {name}"))
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            for _name, sql in triggers:
                connection.execute(text(sql))


@pytest.fixture
def db(engine, clean_database, data_dir):
    from pointillist.store.client_keys import KeyFile
    from pointillist.store.db import session_factory

    with session_factory(engine, keys=KeyFile(data_dir / "client_keys"))() as session:
        yield session


@pytest.fixture
def empty_database_url(database_backend: _Backend) -> Callable[[], str]:
    return database_backend.new_database


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir: Path, database_url: str):
    from pointillist.settings import Settings

    # The background audit chaining is a second writer: it would race the test's own
    # session on SQLite. Chain tests call it themselves; apps chain at shutdown.
    return Settings(data=data_dir, database_url=database_url, audit_chain_interval_seconds=3600)
