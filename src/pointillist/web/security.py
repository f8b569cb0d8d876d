"""Browser sessions and CSRF tokens, signed with the server's secret key.

A browser signs in once and then carries two cookies:

``pointillist_session``
    HttpOnly, Secure, SameSite=Strict. Holds the user id, an expiry, a random nonce and a
    *stamp* derived from the user's password hash, signed with HMAC-SHA256. The signature
    alone is not enough: the nonce must also name a live session record on the server
    (:func:`pointillist.store.accounts.user_for_web_session`), which signing out, idling,
    the absolute lifetime, a password change or a deactivation ends.
``pointillist_csrf``
    Readable by the page's script (not HttpOnly), Secure, SameSite=Strict. Its value is
    ``HMAC(secret, "csrf" + nonce)``: a synchronizer token bound to the session, which a
    state-changing request must echo in the ``X-CSRF-Token`` header. Another site can
    make the browser send the cookies, but cannot read them to build the header, so a
    forged request is answered 403.

API clients send ``Authorization: Bearer <token>`` instead; no cookie is involved, so no
CSRF token is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "pointillist_session"
CSRF_COOKIE = "pointillist_csrf"
CSRF_HEADER = "X-CSRF-Token"

#: Methods that change nothing; every other method needs the CSRF token on a cookie session.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def password_stamp(password_hash: str, active: bool = True) -> str:
    """A short fingerprint of a user's credentials; sessions signed with an old one die."""
    digest = hashlib.sha256(f"{password_hash}|{active}".encode()).digest()
    return _b64(digest[:12])


@dataclass(frozen=True)
class SessionClaims:
    """What a valid session cookie says."""

    user_id: str
    stamp: str
    expires: int
    nonce: str


class SessionSigner:
    """Issue and check session cookies and their CSRF tokens."""

    def __init__(self, secret: str, lifetime_s: int) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 characters")
        self._secret = secret.encode()
        self.lifetime_s = lifetime_s

    def _sign(self, purpose: str, payload: bytes) -> bytes:
        return hmac.new(self._secret, purpose.encode() + b"\0" + payload, hashlib.sha256).digest()

    def issue(self, user_id: str, stamp: str, now: float | None = None) -> tuple[str, str]:
        """Return ``(session_cookie_value, csrf_token)`` for a user who just signed in."""
        claims = SessionClaims(
            user_id=str(user_id),
            stamp=stamp,
            expires=int((time.time() if now is None else now) + self.lifetime_s),
            nonce=secrets.token_urlsafe(16),
        )
        payload = json.dumps(
            [claims.user_id, claims.stamp, claims.expires, claims.nonce], separators=(",", ":")
        ).encode()
        cookie = f"{_b64(payload)}.{_b64(self._sign('session', payload))}"
        return cookie, self.csrf_token(claims)

    def read(self, cookie: str, now: float | None = None) -> SessionClaims | None:
        """Return the claims of a genuine, unexpired cookie, else ``None``."""
        try:
            payload_text, signature_text = cookie.split(".", 1)
            payload = _unb64(payload_text)
            signature = _unb64(signature_text)
        except (ValueError, UnicodeEncodeError):
            return None
        if not hmac.compare_digest(signature, self._sign("session", payload)):
            return None
        try:
            user_id, stamp, expires, nonce = json.loads(payload)
        except (ValueError, TypeError):
            return None
        if int(expires) <= (time.time() if now is None else now):
            return None
        return SessionClaims(
            user_id=str(user_id), stamp=str(stamp), expires=int(expires), nonce=str(nonce)
        )

    def csrf_token(self, claims: SessionClaims) -> str:
        """The CSRF token bound to a session."""
        return _b64(self._sign("csrf", claims.nonce.encode()))

    def csrf_matches(self, claims: SessionClaims, token: str | None) -> bool:
        """True if ``token`` is this session's CSRF token (constant-time comparison)."""
        if token is None:
            return False
        return hmac.compare_digest(token.encode("utf-8"), self.csrf_token(claims).encode("ascii"))
