"""Uploads: who may send one is checked before its body is read, and decoding is bounded.

FastAPI reads a ``multipart/form-data`` body (spooling it to disk) before it resolves the
endpoint's dependencies, so an anonymous caller could make the server take in 25 MB per
request before hearing 401. :class:`AuthenticateUploadsMiddleware` runs the same sign-in
check on the headers alone first. :class:`DecodeSlots` bounds how many photos are decoded
at once: a 50 MP photo needs ~0.5 GB while it is converted, and six at once ran a
server out of memory.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, Request
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from pointillist.store.db import session_scope
from pointillist.store.errors import Busy


class AuthenticateUploadsMiddleware:
    """Answer 401 to an unauthenticated ``multipart/form-data`` API request before its
    body is read; an authenticated one goes on (and is authenticated again, as usual)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _needs_sign_in(scope["path"]):
            content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
            if content_type.lower().startswith(b"multipart/form-data"):
                try:
                    # Who is calling only: the CSRF token may travel in the form itself
                    # (a page's upload form), so the endpoint checks it as usual.
                    await run_in_threadpool(_authenticate, Request({**scope, "method": "GET"}))
                except HTTPException as exc:
                    await _refuse(send, exc)
                    return
        await self.app(scope, receive, send)


def _needs_sign_in(path: str) -> bool:
    return path.startswith("/api/") and path != "/api/auth/login"


def _authenticate(request: Request) -> None:
    from fastapi.security import HTTPAuthorizationCredentials

    from pointillist.web.auth import current_actor
    from pointillist.web.deps import session_factory_for
    from pointillist.web.security import SESSION_COOKIE

    bearer = None
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() == "bearer" and credentials:
        bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)
    # A read: the request object says GET, so this takes a read session (no write lock).
    with session_scope(session_factory_for(request)) as db:
        current_actor(
            request,
            db,
            request.app.state.signer,
            request.app.state.settings,
            bearer,
            request.cookies.get(SESSION_COOKIE),
        )


async def _refuse(send: Send, exc: HTTPException) -> None:
    body = json.dumps({"detail": exc.detail}).encode()
    headers = [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": exc.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The body is never read: the connection cannot carry another request.
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class DecodeSlots:
    """At most ``slots`` photos decoded at once in this process; a caller that waits more
    than ``wait_seconds`` for a slot is told the server is busy (503)."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._wait_seconds = wait_seconds

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a decoding slot for the ``with`` block."""
        if not self._slots.acquire(timeout=self._wait_seconds):
            raise Busy(
                "the server is decoding as many photos as it can; send this one again shortly"
            )
        try:
            yield
        finally:
            self._slots.release()
