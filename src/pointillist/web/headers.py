"""Headers every response gets: the clinic-licence warning and browser hardening.

Authentication finds out whether the user's clinic licence has expired (or expires
soon) and leaves the sentence in ``request.state.warnings``; this middleware adds it as
``X-Pointillist-Warning`` to the response, whatever the response is (success or error),
so an API client or a page sees it on every answer.

The fixed headers keep browsers from guessing content types, from framing the pages
(clickjacking), and from sending the address of a client's record to other sites; every
answer but the static files says ``Cache-Control: no-store``, since any may hold health data.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WARNING_HEADER = "X-Pointillist-Warning"

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class ResponseHeadersMiddleware:
    """Add the security headers and one ``X-Pointillist-Warning`` per queued warning."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if b"cache-control" not in present and not scope["path"].startswith("/static/"):
                    # Answers hold health data: no browser or proxy may keep a copy.
                    headers.append((b"cache-control", b"no-store"))
                # Header values must be latin-1; warnings are plain ASCII sentences.
                headers.extend(
                    (WARNING_HEADER.lower().encode(), w.encode("latin-1", "replace"))
                    for w in scope.get("state", {}).get("warnings", [])
                )
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
