import pytest
from sqlalchemy import text

from pointillist.errors import PointillistError
from pointillist.settings import Settings
from pointillist.store.db import libpq_url, make_engine, normalise_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ),
        ("postgres://u:p%40ss@db/x", "postgresql+psycopg://u:p%40ss@db/x"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_urls_as_people_write_them_use_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


def test_libpq_url_drops_the_driver():
    assert libpq_url("postgresql+psycopg://u@h:5432/d") == "postgresql://u@h:5432/d"


@pytest.mark.parametrize("bad", ["not a url", "mysql://u@h/d"])
def test_unsupported_urls_are_user_errors(bad):
    with pytest.raises(PointillistError):
        normalise_database_url(bad)


def test_default_settings_put_everything_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("POINTILLIST_DATABASE_URL", raising=False)
    monkeypatch.setenv("POINTILLIST_DATA", str(tmp_path / "d"))
    settings = Settings()
    assert settings.data == tmp_path / "d"
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'd' / 'pointillist.sqlite3'}"
    assert settings.photo_dir == tmp_path / "d" / "photos"


def test_secret_key_is_created_once_and_private(tmp_path):
    settings = Settings(data=tmp_path / "d")
    key = settings.secret_key()
    assert len(key) >= 48
    assert settings.secret_key() == key
    assert settings.secret_key_file.stat().st_mode & 0o777 == 0o600


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()
    assert (tmp_path / "sub").stat().st_mode & 0o777 == 0o700  # health data: owner only


def test_sqlite_requests_that_read_then_write_at_the_same_time_all_succeed(tmp_path):
    # Every web request reads and then writes its audit entry: on SQLite two such
    # transactions overlapping used to fail one of them with "database is locked".
    import threading

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE log (n INTEGER)"))
    failures: list[Exception] = []

    def request(n: int) -> None:
        try:
            for _ in range(15):
                with engine.begin() as connection:
                    connection.execute(text("SELECT count(*) FROM log")).scalar()
                    connection.execute(text("INSERT INTO log VALUES (:n)"), {"n": n})
        except Exception as exc:  # the failure under test
            failures.append(exc)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM log")).scalar() == 90
