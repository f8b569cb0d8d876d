"""Crypto-shredding: each client's details and health data are encrypted with a key of
their own, kept outside the database, and erasure destroys the key.

Why outside the database: PostgreSQL keeps deleted rows in its heap until a vacuum
reuses the space, in its write-ahead log until the segment is recycled, and in every
WAL archive, replica and dump for as long as those are kept. A key stored in the
database would survive there next to the data it opens. So the keys live in one file in
the data directory (:class:`KeyFile`), the database holds only ciphertext, and erasing a
client overwrites their key in that file: every copy of their rows, wherever it lingers,
is then noise.

Layout of the key file: fixed 40-byte records, ``key_id`` (8 random bytes) then the
256-bit key (32 bytes). A client row names its record as ``"<slot>:<key_id hex>"``
(``clients.key_ref``); the slot is where the record sits, the key id checks that it is
the right one (a key file from another installation does not open this database's
rows). Records are only ever appended, and erasure zeroes the 32 key bytes in place, so
the zeroed records are also the erasure ledger a restore re-applies
(:func:`destroyed_refs`).

Encrypted values are text: ``pe1:`` then base64 of slot (4 bytes), key id (8), nonce
(12) and the ChaCha20-Poly1305 ciphertext with its tag (RFC 8439; chosen over AES-GCM
because a list of clients sets up one cipher per client, and ChaCha20's set-up costs a
third of AES-GCM's here). The associated data is the table and
column, so a value cannot be moved to another column unnoticed. A value carries its own
key reference, so reading a consultation never needs its client's row.

Models declare an encrypted field as a mapped ``*_ciphertext`` column plus an
:class:`Encrypted` descriptor under the field's name: code reads and writes
``client.email`` as before; the value is encrypted when the session flushes and
decrypted when first read.

Keys are kept in memory by the process (:class:`KeyFile`), with the values the client
list sorts and searches by (names, e-mails, phone numbers: a list of clients needs all
of them on every request), and both are forgotten as soon as the key file changes other
than by new keys added at its end: every session (one web request) begins by checking
the file's size and times, so a key erased by any process, or a key file restored from
a backup, is no longer used from the next request on, in every server process. Health
data (notes, answers, screening) are decrypted per session and not kept.
"""

from __future__ import annotations

import binascii
import fcntl
import json
import os
import secrets
import struct
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from sqlalchemy import event
from sqlalchemy.orm import Session

from pointillist.errors import PointillistError

PREFIX = "pe1:"
RECORD_BYTES = 40
_KEY_ID = 8
_KEY = 32
_NONCE = 12
_HEADER = struct.Struct(">I8s")
_ZERO_KEY = bytes(_KEY)

# Stands in the ciphertext column between a change and the flush that encrypts it. The
# NUL makes PostgreSQL refuse the row should it ever reach the database unencrypted.
_PENDING = "\x00pending-encryption"

T = TypeVar("T")


class UnreadableRecord(PointillistError):
    """A value whose key is missing from the key file (erased, or the wrong key file)."""


def parse_ref(ref: str) -> tuple[int, bytes]:
    """``(slot, key_id)`` of a ``clients.key_ref``."""
    slot, key_id = ref.split(":", 1)
    return int(slot), bytes.fromhex(key_id)


def format_ref(slot: int, key_id: bytes) -> str:
    """The ``clients.key_ref`` of a key record."""
    return f"{slot}:{key_id.hex()}"


#: How old the key file's last change must be before its size and times are trusted to
#: show the next one: two changes within a file system's timestamp granularity can leave
#: both the same, so until then every session reads the file again.
SETTLE_NS = 2_000_000_000

#: Most listed values kept in memory; past it the cache starts again (a clinic has far fewer).
MAX_REMEMBERED = 200_000

_MISSING = object()


class KeyFile:
    """The per-client keys, one 40-byte record each, in a file of the data directory.

    One object per process (the web app's): it keeps the keys it has read, and the
    values of listed fields it has decrypted, until :meth:`refresh` finds the file
    changed in any way other than keys appended.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int, int] | None = None
        self._settled = False
        self._data: bytes | None = None
        self._ciphers: dict[bytes, ChaCha20Poly1305] = {}
        self._remembered: dict[tuple[str, str], Any] = {}

    def refresh(self) -> None:
        """Forget the kept keys and values if the file changed other than by appending.

        Costs one ``stat`` when the file has not changed (and its last change is older
        than :data:`SETTLE_NS`), else one read of the file (40 bytes a client).
        """
        stamp = self._file_stamp()
        if stamp == self._stamp and self._settled:
            return
        data = self.read_all()
        with self._lock:
            if self._data is None or not data.startswith(self._data):
                # A key was destroyed (zeroed in place) or the file replaced: nothing
                # kept may outlive it.
                self._ciphers.clear()
                self._remembered.clear()
            self._data = data
            self._stamp = stamp
            self._settled = stamp is not None and time.time_ns() - stamp[2] > SETTLE_NS

    def _file_stamp(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, max(st.st_mtime_ns, st.st_ctime_ns), st.st_dev)

    def _forget(self) -> None:
        with self._lock:
            self._ciphers.clear()
            self._remembered.clear()
            self._data = None
            self._stamp = None
            self._settled = False

    def cipher(self, slot: int, key_id: bytes) -> ChaCha20Poly1305:
        """The cipher of the key in ``slot`` with id ``key_id``, from memory or the file.

        Raises
        ------
        UnreadableRecord
            If the key was destroyed or is not in this file.
        """
        return self.cipher_for(_HEADER.pack(slot, key_id))

    def cipher_for(self, header: bytes) -> ChaCha20Poly1305:
        """:meth:`cipher` for the key a ciphertext's header names (its slot and key id,
        as packed at the front of every encrypted value): one dictionary lookup once the
        key is in memory, which is every value of a list page after the first."""
        cipher = self._ciphers.get(header)
        if cipher is not None:
            return cipher
        slot, key_id = _HEADER.unpack(header)
        ref = format_ref(slot, key_id)
        data = self._data
        key = None if data is None else key_in(data, ref)
        if key is None:
            # Not read yet, or added by another worker since: refresh reads the file
            # again unless its size and times show no change since the last read.
            self.refresh()
            data = self._data
            key = None if data is None else key_in(data, ref)
        if key is None:
            # No path in the message: it may reach an API client.
            raise UnreadableRecord(
                f"a record is encrypted with client key {slot}, which is not in the data "
                "directory's client_keys file: the client was erased, or that file is not "
                "this database's; restore it from the backup"
            )
        cipher = ChaCha20Poly1305(key)
        with self._lock:
            # Kept only if the file still says the same: a destruction since is not undone.
            if self._data is not None and key_in(self._data, ref) == key:
                self._ciphers[header] = cipher
        return cipher

    def remembered(self, aad: str, token: str) -> Any:
        """A listed value decrypted before from ``token`` in column ``aad``, or a sentinel
        (see :meth:`remember`)."""
        return self._remembered.get((aad, token), _MISSING)

    def remember(self, aad: str, token: str, value: Any) -> None:
        """Keep the value of a listed field for later sessions (until :meth:`refresh`
        finds the file changed)."""
        if len(self._remembered) >= MAX_REMEMBERED:
            self._remembered.clear()
        self._remembered[(aad, token)] = value

    def new_key(self) -> tuple[str, bytes]:
        """Append a fresh random key; returns its reference and the key.

        On disk (fsync) before it returns: data encrypted with a key must never commit
        before the key itself is safe.
        """
        key_id, key = secrets.token_bytes(_KEY_ID), ChaCha20Poly1305.generate_key()
        created = not self.path.exists()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise PointillistError(
                f"{self.path}: cannot write the client key file ({exc.strerror}); set "
                "POINTILLIST_DATA to a writable directory"
            ) from None
        try:
            # Several server workers may add clients at once: one appender at a time.
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            slot = -(-size // RECORD_BYTES)  # a torn record from a crash is skipped, not reused
            os.pwrite(fd, key_id + key, slot * RECORD_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_directory(self.path.parent)
        return format_ref(slot, key_id), key

    def read(self, ref: str) -> bytes | None:
        """The key of ``ref``, or None when it was destroyed or is not in this file."""
        slot, _key_id = parse_ref(ref)
        try:
            with self.path.open("rb") as handle:
                handle.seek(slot * RECORD_BYTES)
                record = handle.read(RECORD_BYTES)
        except FileNotFoundError:
            return None
        return key_in(record, ref, 0)

    def read_all(self) -> bytes:
        """The whole file (40 bytes a client: 400 kB for 10 000 clients)."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def destroy(self, ref: str) -> bool:
        """Overwrite the key of ``ref`` with zeros, in place, and sync it to disk.

        Returns False if there was no such live key. In place, not by rewriting the
        file: a rewritten file would leave the old blocks, key included, on the disk.
        """
        slot, key_id = parse_ref(ref)
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            record = os.pread(fd, RECORD_BYTES, slot * RECORD_BYTES)
            if len(record) != RECORD_BYTES or record[:_KEY_ID] != key_id:
                return False
            os.pwrite(fd, _ZERO_KEY, slot * RECORD_BYTES + _KEY_ID)
            os.fsync(fd)
        finally:
            os.close(fd)
            # Whatever happened, this process keeps nothing the file may no longer hold.
            self._forget()
        return record[_KEY_ID:] != _ZERO_KEY

    def records(self) -> list[tuple[str, bool]]:
        """Every record as ``(ref, destroyed)``, in file order."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        found = []
        for slot in range(len(data) // RECORD_BYTES):
            record = data[slot * RECORD_BYTES : (slot + 1) * RECORD_BYTES]
            if record == bytes(RECORD_BYTES):
                continue  # a hole left by a torn write
            found.append((format_ref(slot, record[:_KEY_ID]), record[_KEY_ID:] == _ZERO_KEY))
        return found


def key_in(data: bytes, ref: str, offset: int | None = None) -> bytes | None:
    """The live key of ``ref`` in key-file bytes ``data`` (its record at ``offset``, by
    default where its slot puts it), or None."""
    slot, key_id = parse_ref(ref)
    start = slot * RECORD_BYTES if offset is None else offset
    record = data[start : start + RECORD_BYTES]
    if len(record) != RECORD_BYTES or record[:_KEY_ID] != key_id:
        return None
    key = record[_KEY_ID:]
    return None if key == _ZERO_KEY else key


def destroyed_refs(keys: KeyFile) -> set[str]:
    """The key references erasure destroyed: the ledger a restore re-applies."""
    return {ref for ref, destroyed in keys.records() if destroyed}


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class KeyRing:
    """The keys one session (one request) uses: those of the process's :class:`KeyFile`,
    checked against the file when the session begins (:meth:`KeyFile.refresh`)."""

    def __init__(self, keys: KeyFile) -> None:
        self.file = keys
        keys.refresh()

    def new_key(self) -> str:
        ref, _key = self.file.new_key()
        return ref

    def key(self, ref: str) -> ChaCha20Poly1305:
        slot, key_id = parse_ref(ref)
        return self.file.cipher(slot, key_id)

    def encrypt(self, ref: str, aad: str, plaintext: bytes) -> str:
        slot, key_id = parse_ref(ref)
        nonce = secrets.token_bytes(_NONCE)
        sealed = self.key(ref).encrypt(nonce, plaintext, aad.encode())
        blob = _HEADER.pack(slot, key_id) + nonce + sealed
        return PREFIX + binascii.b2a_base64(blob, newline=False).decode("ascii")

    def decrypt(self, token: str, aad: str) -> bytes:
        try:
            blob = binascii.a2b_base64(token[len(PREFIX) :])
        except binascii.Error:
            raise UnreadableRecord(f"an encrypted value of {aad} is damaged") from None
        header = blob[: _HEADER.size]
        if len(header) != _HEADER.size:
            raise UnreadableRecord(f"an encrypted value of {aad} is damaged")
        cipher = self.file.cipher_for(header)
        nonce = blob[_HEADER.size : _HEADER.size + _NONCE]
        try:
            return cipher.decrypt(nonce, blob[_HEADER.size + _NONCE :], aad.encode())
        except InvalidTag:
            raise UnreadableRecord(
                f"an encrypted value of {aad} does not open with its client's key: it was "
                "altered in the database or moved from another column"
            ) from None


def keyring_of(session: Session) -> KeyRing:
    """The session's key ring (see :func:`pointillist.store.db.session_factory`)."""
    ring = session.info.get("keyring")
    if not isinstance(ring, KeyRing):
        raise RuntimeError(
            "this database session has no client key file; create it with "
            "session_factory(engine, keys=KeyFile(settings.client_keys_file))"
        )
    return ring


# --- encrypted fields on models ------------------------------------------------------

_KINDS = ("text", "json", "date")


def _encode(kind: str, value: Any) -> bytes:
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if kind == "date":
        return str(value.isoformat()).encode("ascii")
    return str(value).encode("utf-8")


def _decode(kind: str, text: str) -> Any:
    if kind == "json":
        return json.loads(text)
    if kind == "date":
        return date.fromisoformat(text)
    return text


class Encrypted(Generic[T]):
    """A model field stored encrypted in the mapped column ``column_attr``.

    ``kind``: ``text`` (a string), ``json`` (a JSON document) or ``date``. ``listed``:
    a field the list of clients sorts or searches by, whose decrypted values the
    process keeps (see the module's docstring); never health data. Values
    written before encryption was introduced are read as they are, until
    :func:`pointillist.store.shredding.encrypt_plaintext_rows` encrypts them.
    """

    def __init__(self, column_attr: str, kind: str = "text", *, listed: bool = False) -> None:
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}")
        self.column_attr = column_attr
        self.kind = kind
        self.listed = listed
        self.name = column_attr
        self.aad = column_attr

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.aad = f"{owner.__dict__.get('__tablename__', owner.__name__)}.{name}"
        fields = owner.__dict__.get("__encrypted__")
        if fields is None:
            fields = []
            owner.__encrypted__ = fields  # type: ignore[attr-defined]
        fields.append(self)

    @property
    def _cache(self) -> str:
        return f"_plain_{self.name}"

    @overload
    def __get__(self, obj: None, owner: type) -> Encrypted[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: object | None, owner: type) -> Encrypted[T] | T:
        if obj is None:
            return self
        stored = getattr(obj, self.column_attr)
        cached = obj.__dict__.get(self._cache)
        if cached is not None and cached[0] is stored:
            return cached[1]  # type: ignore[no-any-return]
        ring = obj.__dict__.get("_keyring")
        if ring is None and stored is not None and stored.startswith(PREFIX):
            raise RuntimeError(f"{type(obj).__name__} was not loaded by a keyed session")
        value = self.plain(ring, stored)
        obj.__dict__[self._cache] = (stored, value)
        return value

    def plain(self, ring: KeyRing | None, stored: str | None) -> T:
        """The value of this field stored as ``stored`` (for queries that select the
        ciphertext column rather than whole rows)."""
        if stored is None:
            return None  # type: ignore[return-value]
        if stored.startswith(PREFIX):
            assert ring is not None
            if not self.listed:
                return _decode(self.kind, ring.decrypt(stored, self.aad).decode("utf-8"))  # type: ignore[no-any-return]
            # The same ciphertext in the same column always opens to the same value.
            value = ring.file.remembered(self.aad, stored)
            if value is _MISSING:
                value = _decode(self.kind, ring.decrypt(stored, self.aad).decode("utf-8"))
                ring.file.remember(self.aad, stored, value)
            return value  # type: ignore[no-any-return]
        return _decode(self.kind, stored) if stored else stored  # type: ignore[return-value]

    def __set__(self, obj: object, value: T) -> None:
        if value is None:
            obj.__dict__[self._cache] = (None, None)
            setattr(obj, self.column_attr, None)
            return
        obj.__dict__[self._cache] = (_PENDING, value)
        setattr(obj, self.column_attr, _PENDING)

    def pending(self, obj: object) -> bool:
        """Whether ``obj`` holds a new value of this field not yet encrypted."""
        cached = obj.__dict__.get(self._cache)
        return cached is not None and cached[0] is _PENDING

    def encrypt(self, obj: object, ring: KeyRing, ref: str) -> None:
        """Encrypt the pending value into the mapped column."""
        value = obj.__dict__[self._cache][1]
        token = ring.encrypt(ref, self.aad, _encode(self.kind, value))
        obj.__dict__[self._cache] = (token, value)
        setattr(obj, self.column_attr, token)


def encrypted_fields(model: type) -> list[Encrypted[Any]]:
    """The encrypted fields a model declares."""
    return list(getattr(model, "__encrypted__", ()))


def install(session_class: type[Session], key_ref_of: Any) -> None:
    """Encrypt pending values at every flush of ``session_class`` sessions and give
    loaded rows their session's key ring.

    ``key_ref_of(session, row)``: the key reference the row is encrypted with (its
    client's, created on first need).
    """

    @event.listens_for(session_class, "before_flush")
    def _encrypt(session: Session, _context: Any, _instances: Any) -> None:
        ring = session.info.get("keyring")
        for row in (*session.new, *session.dirty):
            fields = encrypted_fields(type(row))
            if not fields:
                continue
            if isinstance(ring, KeyRing):
                row.__dict__["_keyring"] = ring
            waiting = [f for f in fields if f.pending(row)]
            if waiting:
                ref = key_ref_of(session, row)
                for field in waiting:
                    field.encrypt(row, keyring_of(session), ref)

    @event.listens_for(session_class, "loaded_as_persistent")
    def _give_keyring(session: Session, row: Any) -> None:
        ring = session.info.get("keyring")
        if ring is not None and encrypted_fields(type(row)):
            row.__dict__["_keyring"] = ring


class KeyedSession(Session):
    """A session with its own :class:`KeyRing`: keys are cached for its life only."""

    def __init__(self, *args: Any, keys: KeyFile, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.info["keyring"] = KeyRing(keys)
