"""Sign in and out, the current user, passwords and API tokens."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, HTTPException, Query, Request, Response
from pydantic import Field

from pointillist.store import accounts, clinic
from pointillist.store.models import ApiToken, User, utcnow
from pointillist.store.policy import RecordsPolicy
from pointillist.web.auth import (
    CurrentActor,
    cookie_secure,
    end_session,
    records_policy,
    set_clinic_warning,
    start_session,
)
from pointillist.web.deps import AppSettings, DbSession, Signer
from pointillist.web.proxies import client_address
from pointillist.web.routers._common import MAX_ID, NOT_FOUND, BodyId, In, Out, PathId, Problem
from pointillist.web.routers.clinic import ClinicOut
from pointillist.web.routers.users import UserOut
from pointillist.web.security import SESSION_COOKIE
from pointillist.web.throttle import LoginThrottle

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginIn(In):
    email: str = Field(description="The account's e-mail address (case does not matter).")
    password: str = Field(description="The account's password.")


class Me(Out):
    user: UserOut
    clinic: ClinicOut
    permissions: list[str] = Field(description="What this user's role may do (records.toml).")
    permission_labels: list[str] = Field(description="The same permissions, in words.")
    clinic_warning: str | None = Field(
        description="The clinic-licence warning also sent as X-Pointillist-Warning, if any."
    )


class LoginOut(Me):
    csrf_token: str = Field(
        description="Send it as X-CSRF-Token on every request that changes something "
        "(also in the pointillist_csrf cookie)."
    )


class PasswordIn(In):
    new_password: str = Field(description="The new password (at least 12 characters).")
    current_password: str | None = Field(
        default=None, description="The current password (always needed)."
    )


class TokenIn(In):
    name: str = Field(
        min_length=1,
        max_length=100,
        description="Where the token is used, e.g. 'front-desk tablet'.",
    )
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days until the token stops working (records.toml [tokens]: 90 by "
        "default, 365 at most).",
    )
    user_id: BodyId | None = Field(
        default=None, description="Owner only: create the token for another user of the clinic."
    )


class TokenOut(Out):
    id: int
    user_id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown this once only; store it safely.")


def _me(user: User, policy: RecordsPolicy) -> dict[str, Any]:
    # In the order records.toml lists them: reading first, then changes, then owner's.
    permissions = [p for p in policy.permission_labels if policy.can(user.role, p)]
    return {
        "user": user,
        "clinic": user.clinic,
        "permissions": permissions,
        "permission_labels": [policy.permission_labels[p] for p in permissions],
        "clinic_warning": clinic.clinic_licence_warning(user.clinic, policy=policy),
    }


@router.post(
    "/login",
    response_model=LoginOut,
    summary="Sign in (browser session)",
    responses={
        401: {"model": Problem, "description": "Wrong e-mail or password."},
        429: {
            "model": Problem,
            "description": "Too many failed sign-ins from this address; see Retry-After.",
        },
    },
)
def login(
    body: LoginIn,
    response: Response,
    request: Request,
    db: DbSession,
    signer: Signer,
    settings: AppSettings,
) -> dict[str, Any]:
    """Check the e-mail and password and start a browser session.

    Sets two cookies: ``pointillist_session`` (HttpOnly) and ``pointillist_csrf``. Every
    later request that changes something must send the CSRF token in the
    ``X-CSRF-Token`` header. API clients should use a bearer token instead.
    """
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    wait = throttle.retry_after(address or "unknown", body.email)
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail=f"too many failed sign-ins; try again in {math.ceil(wait / 60)} minutes",
            headers={"Retry-After": str(wait)},
        )
    user = accounts.authenticate(db, body.email, body.password, address=address)
    if user is None:
        throttle.failed(address or "unknown", body.email)
        # Keep the audit entry of the failure: the 401 below would roll it back.
        db.commit()
        raise HTTPException(
            status_code=401, detail="wrong e-mail or password, or the account is deactivated"
        )
    throttle.succeeded(address or "unknown", body.email)
    set_clinic_warning(request, user.clinic)
    csrf = start_session(
        response, db, user, signer, secure=cookie_secure(request, settings), address=address
    )
    return {**_me(user, records_policy(request)), "csrf_token": csrf}


@router.post("/logout", status_code=204, summary="Sign out (browser session)")
def logout(
    actor: CurrentActor,
    db: DbSession,
    signer: Signer,
    session_cookie: Annotated[
        str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)
    ] = None,
) -> Response:
    """End the browser session on the server and clear its cookies: a copy of the cookie
    stops working too. (A bearer token is revoked with DELETE /api/auth/tokens/{id}.)"""
    response = Response(status_code=204)
    end_session(response, db, signer, session_cookie)
    return response


@router.get("/me", response_model=Me, summary="The signed-in user")
def me(actor: CurrentActor, request: Request) -> dict[str, Any]:
    """The signed-in user, their clinic, what their role may do, and any licence warning."""
    return _me(actor.user, records_policy(request))


@router.post("/password", status_code=204, summary="Change your password")
def change_password(body: PasswordIn, actor: CurrentActor, db: DbSession) -> Response:
    """Change your own password; the current one is needed. Every browser session and API
    token of yours ends (sign in again, create new tokens)."""
    clinic.set_password(
        db,
        actor.scope,
        actor.user.id,
        body.new_password,
        current_password=body.current_password,
    )
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenOut], summary="List API tokens")
def list_tokens(
    actor: CurrentActor,
    db: DbSession,
    user_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Owner only: the tokens of this user.")
    ] = None,
) -> list[ApiToken]:
    """Your API tokens; an owner sees every token of the clinic (or of ``user_id``)."""
    return accounts.list_tokens(db, actor.scope, user_id)


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    summary="Create an API token",
    responses=NOT_FOUND,
)
def create_token(body: TokenIn, actor: CurrentActor, db: DbSession) -> dict[str, Any]:
    """Create a bearer token for API clients. The secret is in this answer only."""
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    secret, record = accounts.issue_token(
        db,
        actor.scope,
        body.user_id if body.user_id is not None else actor.user.id,
        body.name,
        expires_at=expires,
    )
    return {**TokenOut.model_validate(record).model_dump(), "token": secret}


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenOut,
    summary="Revoke an API token",
    responses=NOT_FOUND,
)
def revoke_token(token_id: PathId, actor: CurrentActor, db: DbSession) -> ApiToken:
    """Revoke one of your tokens (an owner: any token of the clinic). It stops working at once."""
    return accounts.revoke_token(db, actor.scope, token_id)
