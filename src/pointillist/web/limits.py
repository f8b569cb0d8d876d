"""Request body limits, enforced while the body streams in.

Photos arrive as ``multipart/form-data`` and may be large; everything else is small JSON.
The middleware rejects a body whose declared ``Content-Length`` is over the limit before
reading a byte of it, and counts the bytes of a body sent without a length (chunked) as
they arrive, stopping at the first chunk past the limit. Nothing is ever buffered here:
Starlette's multipart parser spools file parts to a temporary file on disk beyond 1 MB.
"""

from __future__ import annotations

import asyncio
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised inside ``receive`` when the body passes the limit.

    An ``HTTPException`` so that FastAPI's body parsing passes it through unchanged (it
    turns other exceptions into a vague 400) and the app's handler answers 413 in JSON.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


def _megabytes(n: int) -> str:
    # Binary megabytes, as the settings and the photo store count them.
    return f"{n / 2**20:.3g} MB" if n >= 2**20 else f"{n} bytes"


class BodyLimitMiddleware:
    """Answer 413 to request bodies over ``upload_limit`` (multipart) or ``json_limit``."""

    def __init__(self, app: ASGIApp, *, upload_limit: int, json_limit: int) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.json_limit = json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        is_upload = content_type.startswith("multipart/form-data")
        limit = self.upload_limit if is_upload else self.json_limit
        what = "upload" if is_upload else "request body"
        message = f"{what} is larger than the {_megabytes(limit)} limit; " + (
            "send a smaller photo (resize or re-export it)" if is_upload else "send less data"
        )

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(send, message)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(message)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal response_started
            if msg["type"] == "http.response.start":
                response_started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if response_started:
                raise
            await _reject(send, message)
        except ExceptionGroup as group:
            # Form parsing may run in a task group; unwrap our own signal from it.
            matched, rest = group.split(BodyTooLarge)
            if matched is None or rest is not None or response_started:
                raise
            await _reject(send, message)


async def _reject(send: Send, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: What a 503 asks the client to wait before trying again: long enough for a queue of
#: short requests to drain, short enough that a person at the desk barely notices.
RETRY_AFTER_SECONDS = 2

#: Paths answered outside the queue: monitoring must learn that the server is alive (and
#: whether its database answers) even when every turn is taken.
_UNQUEUED = ("/healthz", "/static/")


class AdmissionMiddleware:
    """Work on at most ``concurrent`` requests at once, let ``queued`` more wait up to
    ``wait_seconds`` for a turn, and answer 503 with ``Retry-After`` past that.

    Without it an overloaded server takes every connection, starves its threads and its
    database pool, and clients wait until they time out; with it, the requests it takes
    finish in time and the rest learn at once to come back shortly.
    """

    def __init__(self, app: ASGIApp, *, concurrent: int, queued: int, wait_seconds: float) -> None:
        self.app = app
        self.turns = asyncio.Semaphore(concurrent)
        self.queued = queued
        self.waiting = 0
        self.wait_seconds = wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_UNQUEUED):
            await self.app(scope, receive, send)
            return
        if self.turns.locked():
            if self.waiting >= self.queued:
                await _busy(send)
                return
            self.waiting += 1
            try:
                await asyncio.wait_for(self.turns.acquire(), self.wait_seconds)
            except TimeoutError:
                await _busy(send)
                return
            finally:
                self.waiting -= 1
        else:
            await self.turns.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            self.turns.release()


async def _busy(send: Send) -> None:
    body = json.dumps(
        {"detail": f"the server is busy; try again in {RETRY_AFTER_SECONDS} seconds"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
