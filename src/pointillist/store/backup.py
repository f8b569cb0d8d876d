"""Backups of the records: the database and the photo files, in one tar archive.

SQLite is copied with its online backup API (consistent while the server runs); a
PostgreSQL database with ``pg_dump --format=custom`` from an exported snapshot and
restored with ``pg_restore``.

Database and files are from one point in time: the files copied are exactly those the
dumped database refers to (read from the copy, or from the same PostgreSQL snapshot), so
an upload that commits during the backup is either wholly in it or wholly out of it. A
referenced file missing from the store fails the backup rather than making a backup that
cannot be restored whole. ``restore`` checks, before it touches anything, that the
archive holds every file the database refers to and that each matches its SHA-256, and
refuses an incomplete backup. Restored files are readable by their owner only (0600 in
0700 directories), like the originals.

Archive layout::

    manifest.json          format, backend, schema revision, counts, time, files
    database.sqlite3       or database.pgdump
    integrity_key          the key that seals consents and the audit chain
    client_keys            the per-client encryption keys (copied after the database)
    photos/ab/abcd....jpg  every file the database refers to

A backup holds the client keys of its day, so whoever holds the archive can read every
client in it, including clients erased since: keep backups as safe as the server and
only as long as needed. Restoring one never brings an erased client back: the data
directory's key file, where erasure zeroed their key, is kept, and those clients are
erased again (:func:`pointillist.store.shredding.reapply_erasures`).
"""

from __future__ import annotations

import functools
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

from sqlalchemy import func, inspect, pool, select, text
from sqlalchemy.exc import OperationalError

from pointillist.errors import PointillistError
from pointillist.store.client_keys import RECORD_BYTES
from pointillist.store.db import is_sqlite, make_engine, parse_database_url, sqlite_file
from pointillist.store.migrate import current_revision, unreachable_error, upgrade_to_head
from pointillist.store.models import Clinic

BACKUP_FORMAT = "pointillist-backup/2"
_KEY_MEMBER = "integrity_key"
_CLIENT_KEYS_MEMBER = "client_keys"
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
    files: list[str]


@dataclass(frozen=True)
class RestoreSummary:
    """What a restore put back."""

    path: str
    backend: str
    revision: str | None
    clinics: int
    photos_added: int
    photos_present: int
    erased_again: int = 0


def backup(
    url: str,
    photo_dir: Path,
    path: Path,
    *,
    key_file: Path | None = None,
    client_keys_file: Path | None = None,
) -> BackupSummary:
    """Write a backup of the database at ``url``, the files it refers to in ``photo_dir``,
    the sealing key ``key_file`` and the client keys ``client_keys_file`` (each if given
    and present) to ``path``."""
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PointillistError(
            f"{path.parent}: cannot create the directory ({exc.strerror})"
        ) from None
    with tempfile.TemporaryDirectory(prefix="pointillist-backup-") as tmp:
        dump = Path(tmp) / _DATABASE_MEMBERS[backend]
        # A file can be missing for a moment: its row committed an instant before it was
        # moved into place, or an erasure removed it after the snapshot. A new snapshot
        # then agrees with the files; a file missing three times over is lost.
        for _attempt in range(3):
            if backend == "sqlite":
                _sqlite_copy(_sqlite_path(url), dump)
                clinics, referenced = _sqlite_contents(dump)
            else:
                clinics, referenced = _pg_dump(url, dump)
            missing = [name for name in sorted(referenced) if not (photo_dir / name).is_file()]
            if not missing:
                break
            dump.unlink(missing_ok=True)
        else:
            raise PointillistError(
                f"{len(missing)} photo files the database refers to are missing from "
                f"{photo_dir} (first: {Path(missing[0]).name}); restore them from an older "
                "backup, then back up again"
            )
        photos = [photo_dir / name for name in sorted(referenced)]
        # After the database: keys are appended before the rows they encrypt commit, so
        # every client in the dump finds its key here.
        client_keys = _read_if_present(client_keys_file)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        summary = BackupSummary(
            path=str(path),
            backend=backend,
            revision=revision,
            clinics=clinics,
            photos=len(photos),
            database_bytes=dump.stat().st_size,
            created_at=created,
            files=sorted(referenced),
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
                if key_file is not None and key_file.is_file():
                    archive.add(key_file, arcname=_KEY_MEMBER)
                if client_keys is not None:
                    info = tarfile.TarInfo(_CLIENT_KEYS_MEMBER)
                    info.size = len(client_keys)
                    info.mode = 0o600
                    info.mtime = int(datetime.now(UTC).timestamp())
                    archive.addfile(info, io.BytesIO(client_keys))
                for file in photos:
                    archive.add(file, arcname=f"photos/{file.parent.name}/{file.name}")
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise PointillistError(f"{path}: cannot write the backup ({exc.strerror})") from None
    return summary


def restore(
    url: str,
    photo_dir: Path,
    path: Path,
    *,
    force: bool = False,
    key_file: Path | None = None,
    client_keys_file: Path | None = None,
) -> RestoreSummary:
    """Restore a backup into the database at ``url``, the photo store ``photo_dir``, the
    sealing key ``key_file`` and the client keys ``client_keys_file``.

    The client keys already in ``client_keys_file`` win over the backup's: a key erasure
    destroyed stays destroyed, and the clients it belonged to are erased again from the
    restored database (counted in ``erased_again``).

    Refuses, before changing anything, a backup that lacks a file its database refers
    to or holds a damaged one, and a database that already holds clinics unless
    ``force``. The database must be of the same kind (SQLite or PostgreSQL) as the one
    backed up. Afterwards the schema is brought to the newest revision (a backup may be
    older).
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
        referenced = (
            _sqlite_contents(dump)[1] if backend == "sqlite" else set(_listed(manifest, path))
        )
        photos = _checked_photos(archive, path, referenced)
        merged_keys = (
            _merged_client_keys(archive, path, client_keys_file)
            if client_keys_file is not None
            else None
        )
        if backend == "sqlite":
            _sqlite_restore(dump, _sqlite_path(url))
        else:
            _pg_restore(url, dump)
        added, present = _restore_photos(archive, photos, photo_dir)
        if key_file is not None:
            _restore_key(archive, key_file)
        if client_keys_file is not None and merged_keys is not None:
            _write_private(client_keys_file, merged_keys)
    upgrade_to_head(url)
    erased_again = 0
    if client_keys_file is not None:
        erased_again = _reapply_erasures(url, photo_dir, client_keys_file)
    return RestoreSummary(
        path=str(path),
        backend=backend,
        revision=current_revision(url),
        clinics=_count_clinics(url),
        photos_added=added,
        photos_present=present,
        erased_again=erased_again,
    )


def _read_if_present(file: Path | None) -> bytes | None:
    if file is None:
        return None
    try:
        return file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PointillistError(f"{file}: cannot read it ({exc.strerror})") from None


def _merged_client_keys(
    archive: tarfile.TarFile, path: Path, client_keys_file: Path
) -> bytes | None:
    """The key file to keep: the data directory's, extended by the backup's records it
    lacks; None when there is nothing to change. Refuses a key file of another install."""
    try:
        member = archive.extractfile(_CLIENT_KEYS_MEMBER)
    except KeyError:
        return None  # a backup from before client encryption
    if member is None:
        return None
    with member:
        archived = member.read()
    current = _read_if_present(client_keys_file) or b""
    record = RECORD_BYTES
    merged = bytearray(current)
    for start in range(0, len(archived) - record + 1, record):
        theirs = archived[start : start + record]
        ours = bytes(merged[start : start + record])
        if len(ours) < record or ours == bytes(record):
            merged[start : start + record] = theirs.ljust(record, b"\0")
        elif ours[:8] != theirs[:8] and theirs != bytes(record):
            raise PointillistError(
                f"{client_keys_file} holds other client keys than {path}: it belongs to "
                "another installation. Move it aside (keep it!) and run restore again; "
                "nothing was restored"
            )
    return bytes(merged) if bytes(merged) != current else None


def _write_private(target: Path, data: bytes) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name("." + target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, target)


def _reapply_erasures(url: str, photo_dir: Path, client_keys_file: Path) -> int:
    # Imported here: the erasure code imports the models, which a restore needs only now.
    from pointillist.store.client_keys import KeyFile
    from pointillist.store.db import session_factory, session_scope
    from pointillist.store.photos import PhotoStore
    from pointillist.store.shredding import encrypt_plaintext_rows, reapply_erasures

    engine = make_engine(url, poolclass=pool.NullPool)
    photos = PhotoStore(photo_dir, max_bytes=1, max_megapixels=1.0)  # deletes only
    try:
        with session_scope(session_factory(engine, keys=KeyFile(client_keys_file))) as db:
            erased = reapply_erasures(db, photos)
            encrypt_plaintext_rows(db)
    finally:
        engine.dispose()
    return len(erased)


def _listed(manifest: dict[str, object], path: Path) -> list[str]:
    files = manifest.get("files")
    if not isinstance(files, list):
        raise PointillistError(f"{path}: the manifest does not list the backup's files")
    return [str(f) for f in files]


def _checked_photos(
    archive: tarfile.TarFile, path: Path, referenced: set[str]
) -> dict[str, tarfile.TarInfo]:
    """Every referenced file, found in the archive and matching its hash, by relative path."""
    members: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        match = _PHOTO_MEMBER.match(member.name)
        if match and member.isfile():
            members[f"{match[1]}/{match[2]}.{match[3]}"] = member
    missing = sorted(referenced - set(members))
    if missing:
        raise PointillistError(
            f"{path} is incomplete: {len(missing)} photo files its database refers to are "
            f"not in it (first: {Path(missing[0]).name}); nothing was restored. Use another "
            "backup"
        )
    for name in sorted(referenced):
        source = archive.extractfile(members[name])
        assert source is not None
        digest = hashlib.sha256()
        with source:
            for block in iter(functools.partial(source.read, 2**20), b""):
                digest.update(block)
        if digest.hexdigest() != Path(name).stem:
            raise PointillistError(
                f"{path}: photo {Path(name).name} is damaged (its hash differs); nothing was "
                "restored. Use another backup"
            )
    return {name: members[name] for name in referenced}


def _restore_key(archive: tarfile.TarFile, key_file: Path) -> None:
    try:
        member = archive.extractfile(_KEY_MEMBER)
    except KeyError:
        return
    if member is None:
        return
    with member:
        key = member.read()
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = key_file.with_name("." + key_file.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    os.replace(partial, key_file)


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


def _restore_photos(
    archive: tarfile.TarFile, photos: dict[str, tarfile.TarInfo], photo_dir: Path
) -> tuple[int, int]:
    added = present = 0
    # Health data: only the account running pointillist may enter or read.
    photo_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, member in sorted(photos.items()):
        target = photo_dir / name
        if target.exists():
            present += 1
            continue
        source = archive.extractfile(member)
        assert source is not None
        target.parent.mkdir(mode=0o700, exist_ok=True)
        partial = target.with_name(".upload-restore-" + target.name)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with source, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out)
        os.replace(partial, target)
        added += 1
    return added, present


def _sqlite_contents(database: Path) -> tuple[int, set[str]]:
    """Clinics in a copied SQLite database, and the photo files (``ab/abcd....jpg``) it
    refers to."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        clinics = connection.execute("SELECT count(*) FROM clinics").fetchone()[0]
        rows = connection.execute("SELECT sha256, media_type FROM photos").fetchall()
        outputs = connection.execute("SELECT outputs FROM simulations").fetchall()
    except sqlite3.Error as exc:
        raise PointillistError(f"{database.name}: cannot read the database copy ({exc})") from None
    finally:
        connection.close()
    files = {(sha, media) for sha, media in rows}
    for (document,) in outputs:
        files.update((o["sha256"], o["media_type"]) for o in json.loads(document))
    return int(clinics), {_relative(sha, media) for sha, media in files}


def _relative(sha256: str, media_type: str) -> str:
    extension = {"image/jpeg": "jpg", "image/png": "png"}[media_type]
    return f"{sha256[:2]}/{sha256}.{extension}"


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
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Created 0600 before SQLite opens it (its -wal and -shm files take the same mode).
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
    target.chmod(0o600)
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


def _pg_dump(url: str, target: Path) -> tuple[int, set[str]]:
    """Dump the database from an exported snapshot, and read in that same snapshot the
    clinics and the photo files the dump refers to."""
    database, env = _pg_target(url)
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
                clinics = int(connection.scalar(select(func.count()).select_from(Clinic)) or 0)
                files = {
                    (str(sha), str(media))
                    for sha, media in connection.execute(
                        text("SELECT sha256, media_type FROM photos")
                    )
                }
                for (outputs,) in connection.execute(text("SELECT outputs FROM simulations")):
                    files.update((o["sha256"], o["media_type"]) for o in outputs)
                # pg_dump joins the snapshot, which lives as long as this transaction.
                _run_pg(
                    [
                        _pg_tool("pg_dump"),
                        "--format=custom",
                        "--no-owner",
                        "--no-privileges",
                        f"--snapshot={snapshot}",
                        f"--file={target}",
                        f"--dbname={database}",
                    ],
                    env,
                    "pg_dump",
                )
    except OperationalError as exc:
        raise unreachable_error(url, exc) from None
    finally:
        engine.dispose()
    return clinics, {_relative(sha, media) for sha, media in files}


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
