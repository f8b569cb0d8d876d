"""Chains new audit entries in the background, a few seconds after they commit.

Chaining inside each request would make every writer wait for the previous one's link;
one thread per server process does it instead, off the request path. Several processes
(workers) may run one each: an advisory lock lets one extend the chain at a time.

On SQLite the thread needs the server's engine (``make_engine(serialise_writes=True)``):
with transactions begun deferred, its commits between a request's first read and first
write would make that request fail ("database is locked", whatever the busy timeout);
behind the engine's writer lock it simply takes its turn.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pointillist.store.db import session_scope
from pointillist.store.errors import Busy
from pointillist.store.integrity import seal_audit_log

log = logging.getLogger(__name__)


class AuditSealer:
    """A daemon thread that calls :func:`seal_audit_log` every ``interval_s`` seconds."""

    def __init__(
        self, factory: sessionmaker[Session], key: bytes, *, interval_s: float = 2.0
    ) -> None:
        self._factory = factory
        self._key = key
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def seal_now(self) -> int:
        """Chain whatever is pending; 0 if another sealer holds the chain or it failed."""
        chained = 0
        try:
            while True:
                with session_scope(self._factory) as session:
                    done = seal_audit_log(session, self._key)
                chained += done
                if done == 0:
                    return chained
        except (SQLAlchemyError, Busy) as exc:
            # Busy database, or another process chained the same entries first: the
            # next round picks up whatever is still pending.
            log.debug("audit chaining deferred: %s", exc)
            return chained

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.seal_now()

    def start(self) -> None:
        """Chain what is pending, then start the thread (once)."""
        self.seal_now()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last round, so nothing is left pending at shutdown."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None
        self.seal_now()
