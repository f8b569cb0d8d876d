"""Session cookies and CSRF tokens: signed, expiring, bound to one session."""

from __future__ import annotations

import pytest

from pointillist.web.security import SessionSigner, password_stamp

SECRET = "s" * 48


def test_a_cookie_reads_back_until_it_expires():
    signer = SessionSigner(SECRET, lifetime_s=3600)
    cookie, csrf = signer.issue("7", "stamp", now=1000)
    claims = signer.read(cookie, now=1000 + 3599)
    assert claims is not None and (claims.user_id, claims.stamp) == ("7", "stamp")
    assert signer.csrf_matches(claims, csrf)
    assert signer.read(cookie, now=1000 + 3600) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-3] + ("AAA" if not c.endswith("AAA") else "BBB"),  # signature
        lambda c: ("X" if c[0] != "X" else "Y") + c[1:],  # payload
        lambda c: c.replace(".", ""),  # no separator
        lambda c: "garbage",
        lambda c: "",
        lambda c: "é.é",
    ],
)
def test_a_tampered_cookie_is_refused(tamper):
    signer = SessionSigner(SECRET, lifetime_s=3600)
    cookie, _ = signer.issue("7", "stamp")
    assert signer.read(tamper(cookie)) is None


def test_another_servers_cookie_is_refused():
    cookie, _ = SessionSigner("t" * 48, lifetime_s=3600).issue("7", "stamp")
    assert SessionSigner(SECRET, lifetime_s=3600).read(cookie) is None


def test_a_csrf_token_belongs_to_one_session():
    signer = SessionSigner(SECRET, lifetime_s=3600)
    first, first_csrf = signer.issue("7", "stamp")
    _, second_csrf = signer.issue("7", "stamp")
    claims = signer.read(first)
    assert claims is not None
    assert signer.csrf_matches(claims, first_csrf)
    assert not signer.csrf_matches(claims, second_csrf)
    assert not signer.csrf_matches(claims, None)
    assert not signer.csrf_matches(claims, "é" * 43)


def test_the_stamp_changes_with_the_password_and_the_active_flag():
    assert password_stamp("hash-1") != password_stamp("hash-2")
    assert password_stamp("hash-1", active=True) != password_stamp("hash-1", active=False)


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError, match="32"):
        SessionSigner("short", lifetime_s=60)
