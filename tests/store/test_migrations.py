import pytest
from sqlalchemy import inspect, pool
from sqlalchemy.exc import DBAPIError

from pointillist.store.db import make_engine
from pointillist.store.migrate import current_revision, downgrade, head_revision, upgrade_to_head
from pointillist.store.models import Base


def _tables(url: str) -> set[str]:
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_table_then_downgrade_removes_them(empty_database_url):
    url = empty_database_url()
    assert current_revision(url) is None

    assert upgrade_to_head(url) == head_revision()
    assert current_revision(url) == head_revision()
    assert set(Base.metadata.tables) <= _tables(url)

    # Running it again on every server start must be harmless.
    upgrade_to_head(url)

    downgrade(url, "base")
    assert current_revision(url) is None
    assert _tables(url) <= {"alembic_version"}

    # And back up again: the downgrade left nothing behind that blocks a re-upgrade.
    upgrade_to_head(url)
    assert set(Base.metadata.tables) <= _tables(url)


def test_migrated_schema_matches_the_models(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_signed_consent_trigger_survives_downgrade_and_upgrade(empty_database_url):
    from datetime import UTC, datetime

    from sqlalchemy import insert, update

    url = empty_database_url()
    upgrade_to_head(url)
    downgrade(url, "base")
    upgrade_to_head(url)
    t = Base.metadata.tables
    now = datetime(2026, 1, 1, tzinfo=UTC)
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as c:
            c.execute(insert(t["clinics"]).values(id=1, name="A", created_at=now))
            c.execute(
                insert(t["clients"]).values(
                    id=1, clinic_id=1, name="C", notes="", created_at=now, updated_at=now
                )
            )
            c.execute(
                insert(t["consent_templates"]).values(
                    id=1,
                    clinic_id=1,
                    name="treatment",
                    version=1,
                    text="x",
                    sources=[],
                    created_at=now,
                )
            )
            c.execute(
                insert(t["consents"]).values(
                    id=1,
                    clinic_id=1,
                    client_id=1,
                    template_id=1,
                    text="x",
                    content_sha256="h",
                    signed_at=now,
                    created_at=now,
                )
            )
        with pytest.raises(DBAPIError, match="signed"), engine.begin() as c:
            c.execute(update(t["consents"]).values(text="changed"))
    finally:
        engine.dispose()
