"""The ``X-Pointillist-Warning`` response header.

Authentication finds out whether the user's clinic licence has expired (or expires
soon) and leaves the sentence in ``request.state.warnings``; this middleware adds it to
the response, whatever the response is (success or error), so an API client or a page
sees it on every answer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WARNING_HEADER = "X-Pointillist-Warning"


class WarningHeaderMiddleware:
    """Copy queued warnings into an ``X-Pointillist-Warning`` header (one per warning)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_warnings(message: Message) -> None:
            if message["type"] == "http.response.start":
                warnings = scope.get("state", {}).get("warnings", [])
                if warnings:
                    headers = list(message.get("headers", []))
                    # Header values must be latin-1; warnings are plain ASCII sentences.
                    headers.extend(
                        (WARNING_HEADER.lower().encode(), w.encode("latin-1", "replace"))
                        for w in warnings
                    )
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_warnings)
