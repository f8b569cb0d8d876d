"""Read requests: transactions that never write, and the rows they leave, group-committed.

A read is still recorded: listing or opening a client writes an audit entry, and a
browser session notes when it was last seen. Written in the request's own transaction,
every read became a write, and on SQLite (one writer at a time) every read queued behind
every other for the write lock and one disk flush each.

So a read request's session (:func:`read_session_factory`) begins its transaction
without the write lock (SQLite ``BEGIN``, not ``BEGIN IMMEDIATE``) and never writes in it.
The rows it adds are taken out of the session as they would be flushed and handed, when
the session commits, to a :class:`GroupWriter`: one thread that writes the rows of all
the requests waiting at that moment in one short transaction, one disk flush for all.
The commit returns only once that transaction has committed, so a read's audit entry is
durable before the response leaves, as before; if it cannot be written the commit
fails and the response is an error, never unaudited data.

Only the rows a read may leave are taken (audit entries, and the columns in
:data:`DIVERTED_UPDATES`); any other change in a read session is a bug and raises
:class:`WriteInReadSession` at the flush.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, event, insert, inspect, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable

from pointillist.store.client_keys import KeyedSession, KeyFile
from pointillist.store.db import READS_ONLY, WRITER_WAIT_SECONDS
from pointillist.store.errors import Busy
from pointillist.store.models import AuditEntry, WebSession, utcnow

log = logging.getLogger(__name__)

#: Besides adding its audit entry, a read may change these columns only: a browser
#: session's last sighting, or its end when the session is found idle.
DIVERTED_UPDATES: dict[type, frozenset[str]] = {
    WebSession: frozenset({"last_seen_at", "ended_at"}),
}

#: Most requests' rows written in one transaction (a burst beyond waits for the next).
MAX_BATCH = 256

_PENDING = "pointillist_side_writes"
_WRITER = "pointillist_group_writer"


class WriteInReadSession(RuntimeError):
    """A GET (or HEAD) request tried to change a record: a bug, reads must not write."""


@dataclass
class _Job:
    work: list[tuple[Executable, dict[str, Any]]]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupWriter:
    """Writes the rows of read requests, many requests per transaction (group commit).

    :meth:`write` blocks until the caller's rows are committed (or raises). The thread
    starts on first use; :meth:`stop` ends it after the jobs already queued.
    """

    def __init__(self, engine: Engine, *, wait_s: float = WRITER_WAIT_SECONDS + 5) -> None:
        self._engine = engine
        self._wait_s = wait_s
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.transactions = 0  # how many commits served how many jobs: for tests and logs
        self.jobs = 0

    def write(self, work: Sequence[tuple[Executable, dict[str, Any]]]) -> None:
        """Commit ``work`` (statements with their parameters) and return; raise
        :class:`Busy` if the database did not take it in time."""
        if not work:
            return
        job = _Job(list(work))
        self._ensure_thread()
        self._jobs.put(job)
        if not job.done.wait(self._wait_s):
            raise Busy(f"the database was busy for {self._wait_s:g} s; try again in a moment")
        if job.error is not None:
            raise job.error

    def stop(self) -> None:
        """End the thread once the jobs already queued are written."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout=self._wait_s)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="read-rows-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Job]) -> None:
        self.jobs += len(batch)
        try:
            self._execute([item for job in batch for item in job.work])
        except Busy as exc:
            # The write lock stayed taken: every job would wait as long again.
            for job in batch:
                job.error = exc
        except Exception:
            if len(batch) == 1:
                log.exception("could not write a read request's rows")
                batch[0].error = _first_error(self._execute, batch[0].work)
            else:
                # One job's bad row must not fail the others: each on its own.
                for job in batch:
                    job.error = _first_error(self._execute, job.work)
        finally:
            for job in batch:
                job.done.set()

    def _execute(self, work: list[tuple[Executable, dict[str, Any]]]) -> None:
        with self._engine.begin() as connection:
            # Consecutive rows of one statement (the audit entries) go as one executemany.
            start = 0
            while start < len(work):
                statement = work[start][0]
                end = start
                while end < len(work) and work[end][0] is statement:
                    end += 1
                rows = [params for _, params in work[start:end]]
                connection.execute(statement, rows if len(rows) > 1 else rows[0])
                start = end
        self.transactions += 1


def _first_error(
    execute: Any, work: list[tuple[Executable, dict[str, Any]]]
) -> BaseException | None:
    try:
        execute(work)
    except Exception as exc:
        return exc
    return None


def read_session_factory(
    engine: Engine, writer: GroupWriter, *, keys: KeyFile
) -> sessionmaker[Session]:
    """Sessions for read requests: no write lock, rows they leave written by ``writer``;
    ``keys`` decrypt the clients' records (see :func:`pointillist.store.db.session_factory`)."""
    factory: sessionmaker[Session] = sessionmaker(
        bind=engine.execution_options(**{READS_ONLY: True}),
        expire_on_commit=False,
        info={_WRITER: writer},
        class_=KeyedSession,
        keys=keys,
    )
    event.listen(factory, "before_flush", _divert)
    event.listen(factory, "before_commit", _write_diverted)
    event.listen(factory, "after_rollback", _forget_diverted)
    return factory


_AUDIT_TABLE = AuditEntry.__table__
assert isinstance(_AUDIT_TABLE, Table)
_AUDIT_INSERT = insert(_AUDIT_TABLE)
_AUDIT_COLUMNS = [c.key for c in _AUDIT_TABLE.columns if c.key not in ("id", "seq", "chain_hash")]


def _divert(session: Session, _context: Any, _instances: Any) -> None:
    pending: list[tuple[Executable, dict[str, Any]]] = session.info.setdefault(_PENDING, [])
    for obj in list(session.new):
        if not isinstance(obj, AuditEntry):
            raise WriteInReadSession(f"a read request tried to add a {type(obj).__name__}")
        if obj.at is None:
            obj.at = utcnow()
        if obj.detail is None:
            obj.detail = {}
        pending.append((_AUDIT_INSERT, {key: getattr(obj, key) for key in _AUDIT_COLUMNS}))
        session.expunge(obj)
    for obj in list(session.dirty):
        state = inspect(obj)
        allowed = DIVERTED_UPDATES.get(type(obj), frozenset())
        changes: dict[str, Any] = {}
        for attr in state.mapper.column_attrs:
            added = state.attrs[attr.key].history.added
            if not added:
                continue
            if attr.key not in allowed:
                raise WriteInReadSession(
                    f"a read request tried to change {type(obj).__name__}.{attr.key}"
                )
            changes[attr.key] = added[0]
        if not changes:
            continue
        table = state.mapper.local_table
        assert isinstance(table, Table)
        where = [c == v for c, v in zip(table.primary_key, state.identity or (), strict=True)]
        pending.append((update(table).where(*where).values(**changes), {}))
        for name, value in changes.items():
            # Written by the group writer: the session must not flush it again.
            set_committed_value(obj, name, value)
    if session.deleted:
        raise WriteInReadSession("a read request tried to delete a record")


def _write_diverted(session: Session) -> None:
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending:
        writer: GroupWriter = session.info[_WRITER]
        writer.write(pending)


def _forget_diverted(session: Session) -> None:
    session.info.pop(_PENDING, None)
