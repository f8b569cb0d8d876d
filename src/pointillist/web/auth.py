"""Who is calling, and for which clinic.

Two ways in: ``Authorization: Bearer <token>`` (API clients; no CSRF check, since a
browser never adds that header on its own) or the session cookie set by
``POST /api/auth/login`` (browsers; every state-changing request must carry the CSRF
token, see :mod:`pointillist.web.security`).

What a role may do is decided below the API, by the store's
:class:`~pointillist.store.scope.Scope` and ``data/records.toml``; the routers pass the
caller's scope to every store function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from pointillist.settings import Settings
from pointillist.store import accounts
from pointillist.store.clinic import clinic_licence_warning
from pointillist.store.models import Clinic, User
from pointillist.store.policy import RecordsPolicy
from pointillist.store.scope import Scope
from pointillist.web.deps import DbSession, Signer
from pointillist.web.security import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    SessionSigner,
)
from pointillist.web.security import password_stamp as _password_stamp


@dataclass
class Actor:
    """The authenticated caller: their account and the store scope they act in."""

    user: User
    scope: Scope


def password_stamp(user: User) -> str:
    """The session stamp of ``user``: changes when the password or active flag changes."""
    return _password_stamp(user.password_hash, user.is_active)


def records_policy(request: Request) -> RecordsPolicy:
    """The records policy the app was created with (roles, permissions, gates)."""
    policy: RecordsPolicy = request.app.state.records_policy
    return policy


def set_clinic_warning(request: Request, clinic: Clinic) -> None:
    """Put the clinic-licence warning (if any) on this request's response header; called
    again after the licence is changed, so the answer to the change is already current."""
    warning = clinic_licence_warning(clinic, policy=records_policy(request))
    request.state.warnings = [warning] if warning is not None else []


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Whether the session cookies are marked Secure: as configured, else (``auto``) when the
    sign-in came over HTTPS. A browser drops a Secure cookie set over plain HTTP (bar
    localhost), so forcing it on the clinic's http:// network would make sign-in look done
    while every later request is unauthenticated."""
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def start_session(response: Response, user: User, signer: SessionSigner, *, secure: bool) -> str:
    """Set the session and CSRF cookies of a user who just signed in; return the token."""
    session_cookie, csrf = signer.issue(str(user.id), password_stamp(user))
    for name, value, httponly in (
        (SESSION_COOKIE, session_cookie, True),
        # Readable by the page's script, which echoes it in the X-CSRF-Token header.
        (CSRF_COOKIE, csrf, False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=signer.lifetime_s,
            httponly=httponly,
            secure=secure,
            samesite="strict",
            path="/",
        )
    return csrf


def end_session(response: Response) -> None:
    """Clear the session cookies (sign-out)."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


# Declared as security schemes so that the OpenAPI schema shows both ways in.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from POST /api/auth/tokens: 'Authorization: Bearer ptl_...'.",
)
_SESSION = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="Browser session from POST /api/auth/login. Requests that change something "
    f"must also send the {CSRF_HEADER} header (the value of the {CSRF_COOKIE} cookie).",
)


def _user_from_token(db: DbSession, token: str) -> User:
    user = accounts.user_for_token(db, token.strip())
    if user is None:
        raise _unauthorized("the API token is unknown, expired or revoked; create a new one")
    return user


def _user_from_cookie(request: Request, cookie: str | None, db: DbSession, signer: Signer) -> User:
    if not cookie:
        raise _unauthorized(
            "sign in first (POST /api/auth/login) or send 'Authorization: Bearer <token>'"
        )
    claims = signer.read(cookie)
    user = db.get(User, int(claims.user_id)) if claims and claims.user_id.isdigit() else None
    if claims is None or user is None or claims.stamp != password_stamp(user):
        raise _unauthorized("your session has expired or was ended; sign in again")
    if request.method not in SAFE_METHODS and not signer.csrf_matches(
        claims, request.headers.get(CSRF_HEADER)
    ):
        raise HTTPException(
            status_code=403,
            detail=(
                f"missing or wrong CSRF token: send the {CSRF_HEADER} header with the value "
                f"of the {CSRF_COOKIE} cookie (given at sign-in)"
            ),
        )
    return user


def current_actor(
    request: Request,
    db: DbSession,
    signer: Signer,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    session_cookie: Annotated[str | None, Depends(_SESSION)],
) -> Actor:
    """Authenticate the request: a bearer token if an Authorization header is sent, else
    the session cookie.

    Also queues the clinic-licence warning for the response header.
    """
    if "authorization" in request.headers:
        if bearer is None or not bearer.credentials.strip():
            raise _unauthorized("send the API token as 'Authorization: Bearer <token>'")
        user = _user_from_token(db, bearer.credentials)
    else:
        user = _user_from_cookie(request, session_cookie, db, signer)
    if not user.is_active:
        raise _unauthorized("this account is deactivated; ask the clinic owner")
    set_clinic_warning(request, user.clinic)
    return Actor(user=user, scope=Scope.for_user(user, records_policy(request)))


CurrentActor = Annotated[Actor, Depends(current_actor)]
