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
from sqlalchemy.orm import Session

from pointillist.settings import Settings
from pointillist.store import accounts
from pointillist.store.clinic import clinic_licence_warning
from pointillist.store.models import ApiToken, Clinic, User
from pointillist.store.policy import RecordsPolicy
from pointillist.store.scope import Scope
from pointillist.web.deps import AppSettings, DbSession, Signer
from pointillist.web.proxies import client_scheme
from pointillist.web.security import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    SessionClaims,
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
    sign-in came over HTTPS (behind a proxy in ``POINTILLIST_TRUSTED_PROXIES``: as its
    ``X-Forwarded-Proto`` says). A browser drops a Secure cookie set over plain HTTP (bar
    localhost), so forcing it on the clinic's http:// network would make sign-in look done
    while every later request is unauthenticated."""
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return client_scheme(request) == "https"


def start_session(
    response: Response,
    db: Session,
    user: User,
    signer: SessionSigner,
    *,
    secure: bool,
    address: str | None,
) -> str:
    """Start the browser session of a user who just signed in: record it on the server (so
    that sign-out ends every copy of the cookie) and set the session and CSRF cookies;
    return the CSRF token."""
    session_cookie, csrf = signer.issue(str(user.id), password_stamp(user))
    claims = signer.read(session_cookie)
    assert claims is not None
    accounts.start_web_session(
        db, user, claims.nonce, lifetime_s=signer.lifetime_s, address=address
    )
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


def end_session(response: Response, db: Session, signer: SessionSigner, cookie: str | None) -> None:
    """Sign out: end the server-side session (a copy of the cookie stops working too) and
    clear the session cookies."""
    claims = signer.read(cookie) if cookie else None
    if claims is not None:
        accounts.end_web_session(db, claims.nonce)
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


def _token_actor(db: DbSession, token: str) -> tuple[User, ApiToken, str | None]:
    record = accounts.active_token(db, token.strip())
    if record is None:
        raise _unauthorized("the API token is unknown, expired or revoked; create a new one")
    minter = None
    if record.created_by_user_id is not None and record.created_by_user_id != record.user_id:
        minted_by = db.get(User, record.created_by_user_id)
        minter = minted_by.email if minted_by is not None else f"user {record.created_by_user_id}"
    return record.user, record, minter


def live_session(
    db: Session, signer: SessionSigner, cookie: str | None, *, idle_s: int
) -> tuple[SessionClaims, User] | None:
    """The claims and user of a session cookie whose server-side session is still live (not
    ended, expired or idle) and whose password stamp is current; else None. The API and
    the pages check a cookie the same way."""
    claims = signer.read(cookie) if cookie else None
    if claims is None:
        return None
    user = accounts.user_for_web_session(db, claims.nonce, idle_s=idle_s)
    if user is None or str(user.id) != claims.user_id or claims.stamp != password_stamp(user):
        return None
    return claims, user


def _user_from_cookie(
    request: Request, cookie: str | None, db: DbSession, signer: Signer, settings: AppSettings
) -> User:
    if not cookie:
        raise _unauthorized(
            "sign in first (POST /api/auth/login) or send 'Authorization: Bearer <token>'"
        )
    live = live_session(db, signer, cookie, idle_s=settings.session_idle_seconds)
    if live is None:
        raise _unauthorized("your session has expired or was ended; sign in again")
    claims, user = live
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
    settings: AppSettings,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    session_cookie: Annotated[str | None, Depends(_SESSION)],
) -> Actor:
    """Authenticate the request: a bearer token if an Authorization header is sent, else
    the session cookie (a live server-side session, see :mod:`pointillist.web.security`).

    Also queues the clinic-licence warning for the response header.
    """
    token: ApiToken | None = None
    minter: str | None = None
    if "authorization" in request.headers:
        if bearer is None or not bearer.credentials.strip():
            raise _unauthorized("send the API token as 'Authorization: Bearer <token>'")
        user, token, minter = _token_actor(db, bearer.credentials)
        request.app.state.token_uses.note(bearer.credentials.strip())
    else:
        user = _user_from_cookie(request, session_cookie, db, signer, settings)
    if not user.is_active:
        raise _unauthorized("this account is deactivated; ask the clinic owner")
    set_clinic_warning(request, user.clinic)
    scope = Scope.for_user(user, records_policy(request), token=token, token_minter=minter)
    return Actor(user=user, scope=scope)


CurrentActor = Annotated[Actor, Depends(current_actor)]
