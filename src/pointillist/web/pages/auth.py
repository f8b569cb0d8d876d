"""Sign in and out of the app; the home address sends a signed-in user to their clients."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from pointillist.store import accounts
from pointillist.web.auth import cookie_secure, end_session, start_session
from pointillist.web.deps import AppSettings, DbSession, Signer
from pointillist.web.pages._common import (
    FormErrors,
    SignedIn,
    SignInRequired,
    form_text,
    redirect,
    render,
    signed_in,
)
from pointillist.web.proxies import client_address
from pointillist.web.security import SESSION_COOKIE
from pointillist.web.throttle import LoginThrottle

router = APIRouter(include_in_schema=False)

HOME = "/clients"


def _safe_next(target: str | None) -> str:
    """Only a path on this server: a sign-in link must not send anyone elsewhere."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return HOME
    return target


@router.get("/")
async def home(request: Request, db: DbSession, signer: Signer, settings: AppSettings) -> Response:
    try:
        await signed_in(request, db, signer, settings)
    except SignInRequired:
        return RedirectResponse("/sign-in", status_code=303)
    return RedirectResponse(HOME, status_code=303)


@router.get("/sign-in")
def sign_in_form(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    return render(request, "sign_in.html", {"next": _safe_next(next)})


@router.post("/sign-in")
async def sign_in(
    request: Request, db: DbSession, signer: Signer, settings: AppSettings
) -> Response:
    form = await request.form()
    email, password = form_text(form, "email"), form.get("password")
    target = _safe_next(form_text(form, "next"))
    errors = FormErrors()
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request)
    wait = throttle.retry_after(address or "unknown", email)
    user = None
    if wait is not None:
        errors.summary = f"too many failed sign-ins; try again in {math.ceil(wait / 60)} minutes"
    elif not email or not isinstance(password, str) or not password:
        errors.summary = "give your e-mail address and password"
    else:
        user = accounts.authenticate(db, email, password, address=address)
        if user is None:
            throttle.failed(address or "unknown", email)
            errors.summary = "wrong e-mail or password, or the account is deactivated"
    if user is None:
        return render(
            request,
            "sign_in.html",
            {"next": target, "form": {"email": email}, "errors": errors},
            status_code=429 if wait is not None else 401,
        )
    throttle.succeeded(address or "unknown", email)
    response = RedirectResponse(target, status_code=303)
    start_session(
        response, db, user, signer, secure=cookie_secure(request, settings), address=address
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, page: SignedIn, db: DbSession, signer: Signer) -> Response:
    response = redirect(request, "/sign-in", flash="You are signed out.")
    end_session(response, db, signer, request.cookies.get(SESSION_COOKIE))
    return response
