"""Passwords (argon2id) and API tokens (only their SHA-256 is stored).

argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, 64 MiB,
3 passes); hashes made with older parameters are upgraded at the next sign-in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pointillist.errors import PointillistError
from pointillist.store import audit
from pointillist.store.errors import NotFound
from pointillist.store.models import ApiToken, User, utcnow
from pointillist.store.scope import Scope

TOKEN_PREFIX = "ptl_"


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the e-mail is unknown, so both paths cost the same time.
    return _hasher().hash(secrets.token_urlsafe(16))


def check_password_strength(password: str, min_length: int) -> None:
    """Refuse a password shorter than ``min_length`` characters (policy in records.toml)."""
    if len(password) < min_length:
        raise PointillistError(
            f"the password has {len(password)} characters; use at least {min_length} "
            "(a passphrase of several words is easy to remember)",
            field="password",
        )


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (PHC string with salt and parameters)."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; False for a malformed hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None; records the sign-in."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    if not user.is_active or not verify_password(user.password_hash, password):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(session, Scope.for_user(user), "login", "user", user.id)
    return user


# One @, something on both sides, a dot in the domain, no spaces: catches typos without
# refusing real addresses.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_HINT = "an e-mail address looks like name@example.com (one @, no spaces)"


def is_email_address(value: str) -> bool:
    """Whether ``value`` looks like an e-mail address (see :data:`EMAIL_HINT`)."""
    return _EMAIL.match(value.strip()) is not None


def normalise_email(email: str) -> str:
    """E-mail as stored: trimmed and lower-case, so sign-in ignores case."""
    return email.strip().lower()


def token_digest(token: str) -> str:
    """SHA-256 of a token: enough for 256-bit random secrets (no slow hash needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session,
    scope: Scope,
    user_id: int,
    name: str,
    *,
    expires_at: datetime | None = None,
) -> tuple[str, ApiToken]:
    """Create an API token for a user of the caller's clinic.

    A user may create tokens for themselves; owners for anyone in their clinic. Returns
    the token (shown once, never stored) and its record.
    """
    user = session.get(User, user_id)
    if user is None or user.clinic_id != scope.clinic_id:
        raise NotFound(f"no user {user_id} in this clinic")
    if user_id != scope.user_id:
        scope.require("manage_users")
    if not name.strip():
        raise PointillistError("give the token a name that says where it is used", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        clinic_id=scope.clinic_id,
        user_id=user_id,
        name=name.strip(),
        token_sha256=token_digest(token),
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    audit.record(session, scope, "create", "api_token", record.id, user_id=user_id)
    return token, record


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user a valid (known, unexpired, unrevoked) token belongs to, or None."""
    record = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token)))
    now = now or utcnow()
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    user = record.user
    if not user.is_active:
        return None
    record.last_used_at = now
    return user


def list_tokens(session: Session, scope: Scope, user_id: int | None = None) -> list[ApiToken]:
    """Tokens of the caller (or, for owners, of ``user_id`` or the whole clinic)."""
    query = select(ApiToken).where(ApiToken.clinic_id == scope.clinic_id)
    if user_id is None and not scope.can("manage_users"):
        user_id = scope.user_id
    if user_id is not None:
        if user_id != scope.user_id:
            scope.require("manage_users")
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query.order_by(ApiToken.id)))


def revoke_token(session: Session, scope: Scope, token_id: int) -> ApiToken:
    """Revoke a token of the caller (or, for owners, any token of the clinic)."""
    record = session.get(ApiToken, token_id)
    if record is None or record.clinic_id != scope.clinic_id:
        raise NotFound(f"no API token {token_id} in this clinic")
    if record.user_id != scope.user_id:
        scope.require("manage_users")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit.record(session, scope, "update", "api_token", record.id, revoked=True)
    return record
