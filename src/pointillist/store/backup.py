"""Backups of the records: the database and the photo files, in one tar archive.

SQLite is copied with its online backup API (consistent while the server runs); a
PostgreSQL database with ``pg_dump --format=custom`` and restored with ``pg_restore``.
Photos are content-addressed, so a restore adds the files that are missing and checks
every file against its name.

Archive layout::

    manifest.json          format, backend, schema revision, counts, time
    database.sqlite3       or database.pgdump
    photos/ab/abcd....jpg  the photo store, as on disk
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, inspect, pool, select
from sqlalchemy.exc import OperationalError

from pointillist.errors import PointillistError
from pointillist.store.db import is_sqlite, make_engine, parse_database_url, sqlite_file
from pointillist.store.migrate import current_revision, unreachable_error, upgrade_to_head
from pointillist.store.models import Clinic

BACKUP_FORMAT = "pointillist-backup/1"
_PHOTO_MEMBER = re.compile(r"^photos/([0-9a-f]{2})/([0-9a-f]{64})\.(jpg|png)$")
_DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds (also its ``manifest.json``)."""

    path: str
    backend: str
    revision: str | None
    clinics: int
    photos: int
    database_bytes: int
    created_at: str


@dataclass(frozen=True)
class RestoreSummary:
    """What a restore put back."""

    path: str
    backend: str
    revision: str | None
    clinics: int
    photos_added: int
    photos_present: int


def backup(url: str, photo_dir: Path, path: Path) -> BackupSummary:
    """Write a backup of the database at ``url`` and the photos in ``photo_dir`` to ``path``."""
    path = Path(path)
    if path.is_dir():
        raise PointillistError(
            f"{path} is a directory; give a file name, e.g. {path / 'pointillist.tar'}"
        )
    backend = parse_database_url(url).get_backend_name()
    revision = current_revision(url)
    if revision is None:
        raise PointillistError(
            "the database has never been set up, so there is nothing to back up; "
            "check --database-url"
        )
    clinics = _count_clinics(url)
    photos = _photo_files(photo_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PointillistError(
            f"{path.parent}: cannot create the directory ({exc.strerror})"
        ) from None
    with tempfile.TemporaryDirectory(prefix="pointillist-backup-") as tmp:
        dump = Path(tmp) / _DATABASE_MEMBERS[backend]
        if backend == "sqlite":
            _sqlite_copy(_sqlite_path(url), dump)
        else:
            _pg_dump(url, dump)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        summary = BackupSummary(
            path=str(path),
            backend=backend,
            revision=revision,
            clinics=clinics,
            photos=len(photos),
            database_bytes=dump.stat().st_size,
            created_at=created,
        )
        manifest = json.dumps({"format": BACKUP_FORMAT, **summary.__dict__}, indent=2).encode()
        partial = path.with_name(path.name + ".partial")
        try:
            # A backup holds health data: readable by its owner only.
            partial.touch(mode=0o600)
            partial.chmod(0o600)
            with tarfile.open(partial, "w") as archive:
                info = tarfile.TarInfo("manifest.json")
                info.size = len(manifest)
                info.mtime = int(datetime.now(UTC).timestamp())
                archive.addfile(info, io.BytesIO(manifest))
                archive.add(dump, arcname=dump.name)
                for file in photos:
                    archive.add(file, arcname=f"photos/{file.parent.name}/{file.name}")
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise PointillistError(f"{path}: cannot write the backup ({exc.strerror})") from None
    return summary


def restore(url: str, photo_dir: Path, path: Path, *, force: bool = False) -> RestoreSummary:
    """Restore a backup into the database at ``url`` and the photo store ``photo_dir``.

    Refuses to overwrite a database that already holds clinics unless ``force``. The
    database must be of the same kind (SQLite or PostgreSQL) as the one backed up.
    Afterwards the schema is brought to the newest revision (a backup may be older).
    """
    path = Path(path)
    backend = parse_database_url(url).get_backend_name()
    with (
        _open_backup(path) as archive,
        tempfile.TemporaryDirectory(prefix="pointillist-restore-") as tmp,
    ):
        manifest = _manifest(archive, path)
        if manifest["backend"] != backend:
            raise PointillistError(
                f"{path} is a {manifest['backend']} backup and the target database is "
                f"{backend}; restore it into a {manifest['backend']} database"
            )
        if not force and _has_records(url):
            raise PointillistError(
                "the target database already holds clinic records; restoring would replace "
                "them. Back it up first, then run restore again with --force"
            )
        dump = Path(tmp) / _DATABASE_MEMBERS[backend]
        member = archive.extractfile(_DATABASE_MEMBERS[backend])
        if member is None:
            raise PointillistError(f"{path}: the backup has no database; it is damaged")
        with member, dump.open("wb") as out:
            shutil.copyfileobj(member, out)
        if backend == "sqlite":
            _sqlite_restore(dump, _sqlite_path(url))
        else:
            _pg_restore(url, dump)
        added, present = _restore_photos(archive, path, photo_dir)
    upgrade_to_head(url)
    return RestoreSummary(
        path=str(path),
        backend=backend,
        revision=current_revision(url),
        clinics=_count_clinics(url),
        photos_added=added,
        photos_present=present,
    )


def _open_backup(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r")
    except FileNotFoundError:
        raise PointillistError(f"{path}: file not found; give the path of a backup") from None
    except IsADirectoryError:
        raise PointillistError(f"{path}: is a folder; give the backup file") from None
    except tarfile.TarError:
        raise PointillistError(
            f"{path}: not a pointillist backup (not a tar archive); give a file made by "
            "'pointillist backup'"
        ) from None
    except OSError as exc:
        raise PointillistError(f"{path}: cannot read it ({exc.strerror})") from None


def _manifest(archive: tarfile.TarFile, path: Path) -> dict[str, object]:
    try:
        member = archive.extractfile("manifest.json")
        manifest = json.loads(member.read()) if member else None
    except (KeyError, json.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise PointillistError(f"{path}: not a pointillist backup (no {BACKUP_FORMAT} manifest)")
    return manifest


def _restore_photos(archive: tarfile.TarFile, path: Path, photo_dir: Path) -> tuple[int, int]:
    added = present = 0
    for member in archive.getmembers():
        match = _PHOTO_MEMBER.match(member.name)
        if not match or not member.isfile():
            continue
        target = photo_dir / match[1] / f"{match[2]}.{match[3]}"
        if target.exists():
            present += 1
            continue
        source = archive.extractfile(member)
        assert source is not None
        data = source.read()
        if hashlib.sha256(data).hexdigest() != match[2]:
            raise PointillistError(f"{path}: photo {member.name} is damaged (its hash differs)")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name("." + target.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        added += 1
    return added, present


def _photo_files(photo_dir: Path) -> list[Path]:
    if not photo_dir.is_dir():
        return []
    return sorted(
        p
        for p in photo_dir.glob("??/*")
        if p.is_file() and _PHOTO_MEMBER.match(f"photos/{p.parent.name}/{p.name}")
    )


def _sqlite_path(url: str) -> Path:
    file = sqlite_file(url)
    if file is None:
        raise PointillistError("an in-memory SQLite database cannot be backed up or restored")
    return file


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.exists():
        raise PointillistError(f"{source}: no database file; check --database-url")
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
        # A single self-contained file: no -wal or -shm beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise PointillistError(f"{source}: cannot back up the database ({exc})") from None
    finally:
        src.close()
        dst.close()


def _sqlite_restore(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, timeout=10)
    try:
        src.execute("PRAGMA quick_check").fetchone()
        with dst:
            src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise PointillistError(
            f"cannot restore into {target} ({exc}); stop the server using it and try again"
        ) from None
    finally:
        src.close()
        dst.close()


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise PointillistError(
            f"{name} not found; install the PostgreSQL client tools "
            "(Debian/Ubuntu: apt install postgresql-client) of the server's major version or newer"
        )
    return found


def _pg_target(url: str) -> tuple[str, dict[str, str]]:
    # The password goes through the environment, not the command line (visible in ps).
    parsed = parse_database_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run_pg(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit code {result.returncode}"
        raise PointillistError(f"{what} failed: {reason}")


def _pg_dump(url: str, target: Path) -> None:
    database, env = _pg_target(url)
    _run_pg(
        [
            _pg_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={target}",
            f"--dbname={database}",
        ],
        env,
        "pg_dump",
    )


def _pg_restore(url: str, source: Path) -> None:
    database, env = _pg_target(url)
    _run_pg(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            f"--dbname={database}",
            str(source),
        ],
        env,
        "pg_restore",
    )


def _has_records(url: str) -> bool:
    if is_sqlite(url):
        file = sqlite_file(url)
        if file is None or not file.exists():
            return False
    return _count_clinics(url) > 0


def _count_clinics(url: str) -> int:
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(Clinic.__tablename__):
                return 0
            return int(connection.scalar(select(func.count()).select_from(Clinic)) or 0)
    except OperationalError as exc:
        raise unreachable_error(url, exc) from None
    finally:
        engine.dispose()
