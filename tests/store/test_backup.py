import shutil
import tarfile

import pytest
from sqlalchemy import pool, select, update
from sqlalchemy.exc import DBAPIError

from pointillist.errors import PointillistError
from pointillist.store.backup import backup, restore
from pointillist.store.db import is_sqlite, make_engine
from pointillist.store.migrate import current_revision
from pointillist.store.models import Base, Consent
from tests.store.test_export_erase import _full_record
from tests.web.conftest import png_bytes


def _snapshot(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def records_on_disk(db, clinic_a, clinic_b, photo_store):
    _full_record(db, clinic_a, photo_store)
    _full_record(db, clinic_b, photo_store)
    db.commit()
    return photo_store


def test_backup_then_restore_gives_the_same_records_and_files(
    database_url, records_on_disk, empty_database_url, tmp_path
):
    if not is_sqlite(database_url) and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (apt install postgresql-client)")
    photos = records_on_disk
    archive = tmp_path / "backups" / "pointillist.tar"
    summary = backup(database_url, photos.root, archive)
    assert summary.clinics == 2 and summary.photos == len(photos.files()) == 2
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and sum(n.startswith("photos/") for n in names) == 2

    target = empty_database_url()
    restored_photos = tmp_path / "restored" / "photos"
    result = restore(target, restored_photos, archive)
    assert result.clinics == 2 and result.photos_added == 2

    before, after = _snapshot(database_url), _snapshot(target)
    assert sum(len(rows) for rows in before.values()) > 20
    assert after == before
    assert sorted(p.name for p in restored_photos.glob("??/*")) == sorted(
        p.name for p in photos.files()
    )

    # The signed-consent trigger came back with the schema.
    engine = make_engine(target, poolclass=pool.NullPool)
    try:
        with pytest.raises(DBAPIError, match="signed"), engine.begin() as connection:
            connection.execute(update(Consent).values(signer_name="someone else"))
    finally:
        engine.dispose()

    with pytest.raises(PointillistError, match="--force"):
        restore(target, restored_photos, archive)
    again = restore(target, restored_photos, archive, force=True)
    assert again.photos_present == 2 and _snapshot(target) == before


def test_restore_refuses_what_is_not_a_backup(database_url, empty_database_url, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file at all")
    target = empty_database_url()
    with pytest.raises(PointillistError, match="not a pointillist backup"):
        restore(target, tmp_path / "photos", junk)
    with pytest.raises(PointillistError, match="file not found"):
        restore(target, tmp_path / "photos", tmp_path / "missing.tar")


def test_backup_of_a_database_never_set_up_is_refused(empty_database_url, tmp_path):
    with pytest.raises(PointillistError, match="never been set up"):
        backup(empty_database_url(), tmp_path / "photos", tmp_path / "b.tar")


def _without_member(archive, out, prefix: str) -> None:
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        dropped = False
        for member in source.getmembers():
            if member.name.startswith(prefix) and not dropped:
                dropped = True
                continue
            target.addfile(member, source.extractfile(member) if member.isfile() else None)


def test_backup_copies_only_the_files_the_database_refers_to_and_restore_keeps_them_private(
    database_url, records_on_disk, empty_database_url, tmp_path
):
    if not is_sqlite(database_url) and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (apt install postgresql-client)")
    photos = records_on_disk
    stray = photos.put(png_bytes(colour=(3, 3, 3)))  # on disk, but no row refers to it
    key = tmp_path / "integrity_key"
    key.write_text("the clinic's sealing key\n")
    archive = tmp_path / "pointillist.tar"
    summary = backup(database_url, photos.root, archive, key_file=key)
    assert summary.photos == 2 and stray.sha256 not in " ".join(summary.files)

    target_dir = tmp_path / "restored"
    target = (
        f"sqlite:///{target_dir / 'db.sqlite3'}"
        if is_sqlite(database_url)
        else empty_database_url()
    )
    restored_key = target_dir / "integrity_key"
    restore(target, target_dir / "photos", archive, key_file=restored_key)
    assert restored_key.read_text() == "the clinic's sealing key\n"
    assert restored_key.stat().st_mode & 0o777 == 0o600
    files = list((target_dir / "photos").glob("??/*"))
    assert len(files) == 2
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
    assert (target_dir / "photos").stat().st_mode & 0o777 == 0o700
    if is_sqlite(database_url):
        assert (target_dir / "db.sqlite3").stat().st_mode & 0o777 == 0o600


def test_restore_refuses_a_backup_missing_a_file_before_changing_anything(
    database_url, records_on_disk, empty_database_url, tmp_path
):
    if not is_sqlite(database_url) and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (apt install postgresql-client)")
    archive = tmp_path / "pointillist.tar"
    backup(database_url, records_on_disk.root, archive)
    incomplete = tmp_path / "incomplete.tar"
    _without_member(archive, incomplete, "photos/")
    target = empty_database_url()
    with pytest.raises(PointillistError, match="incomplete: 1 photo files"):
        restore(target, tmp_path / "restored", incomplete)
    assert not (tmp_path / "restored").exists()
    assert current_revision(target) is None  # the database was not touched


def test_backup_refuses_when_a_referenced_file_is_missing(database_url, records_on_disk, tmp_path):
    lost = records_on_disk.files()[0]
    lost.unlink()
    with pytest.raises(PointillistError, match="missing from"):
        backup(database_url, records_on_disk.root, tmp_path / "pointillist.tar")
    assert not (tmp_path / "pointillist.tar").exists()
