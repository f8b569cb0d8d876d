"""One JSON shape for every error the API returns (and the error page of the app).

Every error body is ``{"detail": "<a sentence a person can act on>", ...}``. Validation
errors (422) add ``errors``: one ``{"field", "message", "location"}`` per bad field, so a
form can put each message next to its input. A :class:`~pointillist.errors.PointillistError`
raised anywhere below the API becomes a 4xx with the same message the CLI would print.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from pointillist.errors import PointillistError
from pointillist.store import errors as store_errors

log = logging.getLogger(__name__)

#: HTTP status of each kind of user error the store raises; any other is 400.
_STATUS_BY_CLASS: tuple[tuple[type[PointillistError], int], ...] = (
    (store_errors.NotFound, 404),
    (store_errors.PermissionDenied, 403),
    (store_errors.GateClosed, 409),
    (store_errors.ImmutableRecord, 409),
    (store_errors.Conflict, 409),
)


def status_for(exc: PointillistError) -> int:
    """The HTTP status for a user error: 404, 403 or 409 for the store's kinds; else 422
    when the error names a field (a bad answer), 400 when it does not."""
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 422 if exc.field else 400


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Turn pydantic's error list into ``{"field", "message", "location"}`` items.

    ``field`` is the dotted path inside the body, query or path (``sessions.0.date``);
    ``location`` says which of those it came from.
    """
    items = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc and loc[0] in {"body", "query", "path", "header", "cookie"} else ""
        path = loc[1:] if location else loc
        message = str(error.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ")
        items.append(
            {"field": ".".join(path) or location, "message": message, "location": location}
        )
    return items


def _error_response(
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    *,
    request: Request | None = None,
    **extra: Any,
) -> Response:
    if request is not None:
        # Imported here: the pages import the routers, which import this module's package.
        from pointillist.web.pages._common import error_page, is_page_request

        if is_page_request(request):
            return error_page(request, status, detail)
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    items = field_errors(exc.errors())
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in items)
    return _error_response(422, f"invalid request: {summary}", request=request, errors=items)


async def _on_user_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PointillistError)
    extra: dict[str, Any] = {}
    if exc.field:
        extra["errors"] = [{"field": exc.field, "message": exc.message, "location": "body"}]
    return _error_response(status_for(exc), exc.message, request=request, **extra)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such resource: {request.url.path}"
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = f"{request.method} is not allowed on {request.url.path}"
    return _error_response(
        exc.status_code, detail, headers=dict(exc.headers or {}), request=request
    )


async def _on_data_error(request: Request, exc: Exception) -> Response:
    # The database refused a value the request validation let through (a search term
    # with a NUL character, text longer than its column): the caller's data, not a bug.
    log.info("database refused a value on %s %s: %s", request.method, request.url.path, exc)
    return _error_response(
        422,
        "the database cannot store a value of this request (too long, out of range or "
        "containing a NUL character); correct it and try again",
        request=request,
    )


def _busy_response(request: Request, detail: str) -> Response:
    from pointillist.web.limits import RETRY_AFTER_SECONDS

    return _error_response(
        503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, request=request
    )


async def _on_busy(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, store_errors.Busy)
    return _busy_response(request, exc.message)


async def _on_pool_timeout(request: Request, exc: Exception) -> Response:
    log.warning("no database connection free in time on %s %s", request.method, request.url.path)
    return _busy_response(request, "the server is busy; try again in a moment")


async def _on_operational_error(request: Request, exc: Exception) -> Response:
    # Another process (a CLI command, a backup) held SQLite's write lock past the busy
    # timeout, or the connection to the database broke: both pass. Anything else is a bug.
    assert isinstance(exc, OperationalError)
    if not (exc.connection_invalidated or "database is locked" in str(exc.orig)):
        return await _on_unexpected_error(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return _busy_response(request, "the database is busy or unreachable; try again in a moment")


async def _on_integrity_error(request: Request, exc: Exception) -> Response:
    # The store checks the constraints it knows of first; this is the net under a race
    # (two requests creating the same record at once) so it still is the caller's 409.
    log.info("constraint refused a change on %s %s: %s", request.method, request.url.path, exc)
    return _error_response(
        409,
        "this change conflicts with another record (it may exist already); reload and check",
        request=request,
    )


async def _on_unexpected_error(request: Request, exc: Exception) -> Response:
    # A bug, not a user error: log the traceback for the operator, tell the client little.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error_response(500, "internal error; the server log has the details", request=request)


async def _on_sign_in_required(request: Request, exc: Exception) -> Response:
    from pointillist.web.pages._common import sign_in_redirect

    return sign_in_redirect(request)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape (on the API) or
    the error page in the layout (on the app's pages)."""
    from pointillist.web.pages._common import SignInRequired

    app.add_exception_handler(SignInRequired, _on_sign_in_required)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(PointillistError, _on_user_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DataError, _on_data_error)
    app.add_exception_handler(store_errors.Busy, _on_busy)
    app.add_exception_handler(PoolTimeout, _on_pool_timeout)
    app.add_exception_handler(OperationalError, _on_operational_error)
    app.add_exception_handler(IntegrityError, _on_integrity_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
