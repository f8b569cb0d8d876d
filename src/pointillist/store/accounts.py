"""Passwords (argon2id) and API tokens (only their SHA-256 is stored).

argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, 64 MiB,
3 passes); hashes made with older parameters are upgraded at the next sign-in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, joinedload
from zxcvbn import zxcvbn

from pointillist.errors import PointillistError
from pointillist.store import audit
from pointillist.store.errors import NotFound
from pointillist.store.models import ApiToken, User, WebSession, utcnow
from pointillist.store.policy import RecordsPolicy
from pointillist.store.scope import Scope

TOKEN_PREFIX = "ptl_"


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the e-mail is unknown, so both paths cost the same time.
    return _hasher().hash(secrets.token_urlsafe(16))


def check_password_strength(
    password: str, policy: RecordsPolicy, user_inputs: tuple[str, ...] = ()
) -> None:
    """Refuse a password that is too short or too easy to guess (``records.toml``).

    zxcvbn estimates the guesses needed from its lists of common passwords, names and
    words, keyboard patterns, repeats and dates, and from ``user_inputs`` (the user's
    e-mail and name), so ``password1234`` and ``aaaaaaaaaaaa`` fail however long.
    """
    if len(password) < policy.min_password_length:
        raise PointillistError(
            f"the password has {len(password)} characters; use at least "
            f"{policy.min_password_length} (a passphrase of several words is easy to remember)",
            field="password",
        )
    # zxcvbn's cost grows with length; past 100 characters only the first 100 are scored.
    result = zxcvbn(password[:100], user_inputs=[i for i in user_inputs if i])
    if result["score"] < policy.min_password_score:
        feedback = result["feedback"]
        why = feedback.get("warning") or "it is too easy to guess"
        advice = " ".join(feedback.get("suggestions") or []) or ("Use a few unrelated words.")
        raise PointillistError(
            f"the password is too easy to guess: {why.rstrip('.').lower()}. {advice}",
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


def authenticate(
    session: Session, email: str, password: str, *, address: str | None = None
) -> User | None:
    """The active user with this e-mail and password, or None; records the sign-in.

    A failure against a known account is audited in its clinic (with the address it came
    from); the caller must commit even though it answers 401.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    if not user.is_active or not verify_password(user.password_hash, password):
        reason = "deactivated" if not user.is_active else "wrong password"
        audit.record(
            session,
            Scope.for_user(user),
            "login_failed",
            "user",
            user.id,
            reason=reason,
            address=address,
        )
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(session, Scope.for_user(user), "login", "user", user.id, address=address)
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

    A user may create tokens for themselves; owners for anyone in their clinic. Every
    token expires: ``expires_at`` defaults to, and may not be later than, the lifetimes
    in ``records.toml`` [tokens]. Returns the token (shown once, never stored) and its
    record.
    """
    now = utcnow()
    policy = scope.policy
    if expires_at is None:
        expires_at = now + timedelta(days=policy.token_default_days)
    if expires_at <= now or expires_at > now + timedelta(days=policy.token_max_days, hours=1):
        raise PointillistError(
            f"a token must expire within {policy.token_max_days} days; ask for fewer days",
            field="expires_in_days",
        )
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
        created_by_user_id=scope.user_id,
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    audit.record(session, scope, "create", "api_token", record.id, user_id=user_id)
    return token, record


def active_token(session: Session, token: str, *, now: datetime | None = None) -> ApiToken | None:
    """The record of a valid (known, unexpired, unrevoked) token of an active user.

    Reads only: the caller notes the use in a :class:`TokenUses`, written in batches, so
    that a read request never waits for the database's writer.
    """
    # One query: the request goes on to use the user and their clinic in any case.
    record = session.scalar(
        select(ApiToken)
        .where(ApiToken.token_sha256 == token_digest(token))
        .options(joinedload(ApiToken.user).joinedload(User.clinic))
    )
    now = now or utcnow()
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    if not record.user.is_active:
        return None
    return record


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user a valid (known, unexpired, unrevoked) token belongs to, or None."""
    record = active_token(session, token, now=now)
    return None if record is None else record.user


def end_credentials(session: Session, user_id: int) -> None:
    """Revoke every API token and end every browser session of a user: their password
    changed or their account was deactivated. Reactivating does not bring them back."""
    now = utcnow()
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session="fetch")
    )


class TokenUses:
    """When each API token was last used, kept in memory and written in one batch.

    Writing ``last_used_at`` on every request made every read a write, and SQLite serves
    one writer at a time; the time is only shown to owners ("last used"), so a minute's
    delay costs nothing. Thread-safe: requests note uses from worker threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, datetime] = {}

    def note(self, token: str, at: datetime | None = None) -> None:
        """Remember that ``token`` was used ``at`` (now by default)."""
        digest = token_digest(token)
        with self._lock:
            self._pending[digest] = at or utcnow()

    def flush(self, session: Session) -> int:
        """Write the noted uses in the caller's transaction; return how many tokens."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            table = ApiToken.__table__
            assert isinstance(table, Table)
            session.connection().execute(
                update(table)
                .where(table.c.token_sha256 == bindparam("digest"))
                .values(last_used_at=bindparam("at")),
                [{"digest": digest, "at": at} for digest, at in pending.items()],
            )
        return len(pending)


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


def start_web_session(
    session: Session, user: User, nonce: str, *, lifetime_s: int, address: str | None
) -> WebSession:
    """Record a browser session that just signed in (the cookie carries ``nonce``)."""
    now = utcnow()
    record = WebSession(
        user_id=user.id,
        nonce_sha256=token_digest(nonce),
        address=address,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=lifetime_s),
    )
    session.add(record)
    return record


def user_for_web_session(
    session: Session, nonce: str, *, idle_s: int, now: datetime | None = None
) -> User | None:
    """The user of a live browser session, or None if it ended, expired or sat idle.

    Notes its use at most once a minute (``last_seen_at`` is for the idle timeout, and a
    write on every read would make readers queue for the database's write lock).
    """
    now = now or utcnow()
    # One query for the session, its user and their clinic (the request uses all three).
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.nonce_sha256 == token_digest(nonce))
        .options(joinedload(User.clinic))
    ).first()
    if found is None:
        return None
    record, user = found[0], found[1]
    if record.ended_at is not None or record.expires_at <= now:
        return None
    if record.last_seen_at + timedelta(seconds=idle_s) <= now:
        record.ended_at = now
        return None
    if now - record.last_seen_at >= _SEEN_RESOLUTION:
        record.last_seen_at = now
    return user if user.is_active else None


def end_web_session(session: Session, nonce: str) -> None:
    """Sign out: the session's cookie, and every copy of it, stops working."""
    session.execute(
        update(WebSession)
        .where(WebSession.nonce_sha256 == token_digest(nonce), WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


_SEEN_RESOLUTION = timedelta(minutes=1)
