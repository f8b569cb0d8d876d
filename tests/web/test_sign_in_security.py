"""Sessions that end, tokens that expire, sign-in throttling, proxies, passwords, and the
audit entries of sign-in, lists and tokens minted for someone else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.web.conftest import PASSWORD

from pointillist.store.models import ApiToken, WebSession, utcnow

NEW_PASSWORD = "a brand new passphrase"


def login(api, email: str, password: str = PASSWORD, **headers: str):
    return api.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


def _restore(api, cookies: dict[str, str]) -> None:
    api.cookies.clear()
    for name, value in cookies.items():
        api.cookies.set(name, value, domain="testserver")


def test_a_copy_of_a_signed_out_cookie_no_longer_works(api, world):
    token = login(api, world.a.emails["owner"]).json()["csrf_token"]
    copied = dict(api.cookies)
    assert api.post("/api/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
    _restore(api, copied)
    assert api.get("/api/auth/me").status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"last_seen_at": utcnow() - timedelta(minutes=31)},  # idle past 30 minutes
        {"expires_at": utcnow() - timedelta(seconds=1)},  # past the absolute lifetime
    ],
    ids=["idle", "absolute"],
)
def test_sessions_end_when_idle_or_too_old(api, world, db, change):
    login(api, world.a.emails["owner"])
    assert api.get("/api/auth/me").status_code == 200
    db.execute(update(WebSession).values(**change))
    db.commit()
    assert api.get("/api/auth/me").status_code == 401


def test_tokens_expire_by_default_and_cannot_live_for_ever(api, world):
    created = api.post("/api/auth/tokens", json={"name": "tablet"}, headers=world.a.auth())
    assert created.status_code == 201, created.text
    expires = created.json()["expires_at"]
    assert expires is not None
    too_long = api.post(
        "/api/auth/tokens", json={"name": "x", "expires_in_days": 3650}, headers=world.a.auth()
    )
    assert too_long.status_code == 422, too_long.text
    assert "365 days" in too_long.json()["detail"]


def test_an_expired_token_is_refused(api, world, db):
    created = api.post("/api/auth/tokens", json={"name": "tablet"}, headers=world.a.auth())
    bearer = {"Authorization": f"Bearer {created.json()['token']}"}
    db.execute(
        update(ApiToken)
        .where(ApiToken.id == created.json()["id"])
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    assert api.get("/api/auth/me", headers=bearer).status_code == 401


def test_a_password_change_revokes_the_users_tokens(api, world):
    desk = world.a.auth("front-desk")
    assert api.get("/api/auth/me", headers=desk).status_code == 200
    changed = api.put(
        f"/api/users/{world.a.ids['user_id']}/password",
        json={"password": NEW_PASSWORD},
        headers=world.a.auth(),
    )
    assert changed.status_code == 204, changed.text
    assert api.get("/api/auth/me", headers=desk).status_code == 401


def test_deactivation_revokes_tokens_for_good(api, world):
    user = f"/api/users/{world.a.ids['user_id']}"
    desk = world.a.auth("front-desk")
    assert api.patch(user, json={"is_active": False}, headers=world.a.auth()).status_code == 200
    assert api.patch(user, json={"is_active": True}, headers=world.a.auth()).status_code == 200
    assert api.get("/api/auth/me", headers=desk).status_code == 401


def test_changing_ones_own_password_needs_the_current_one_even_for_an_owner(api, world):
    token = login(api, world.a.emails["owner"]).json()["csrf_token"]
    csrf = {"X-CSRF-Token": token}
    without = api.post("/api/auth/password", json={"new_password": NEW_PASSWORD}, headers=csrf)
    assert without.status_code == 422, without.text
    own = api.put(
        f"/api/users/{world.a.ids['owner_id']}/password",
        json={"password": NEW_PASSWORD},
        headers=csrf,
    )
    assert own.status_code == 422, own.text
    assert login(api, world.a.emails["owner"], NEW_PASSWORD).status_code == 401


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "password1234", "new@a.example12"])
def test_common_or_guessable_passwords_are_refused(api, world, password):
    response = api.post(
        "/api/users",
        json={"email": "new@a.example", "name": "New", "role": "front-desk", "password": password},
        headers=world.a.auth(),
    )
    assert response.status_code == 422, response.text
    assert "too easy to guess" in response.json()["detail"]


def test_spraying_many_accounts_from_one_address_is_throttled_whatever_it_forwards(api, world, app):
    app.state.login_throttle.limits["address"] = 4
    for i in range(4):
        # Without a trusted proxy configured, X-Forwarded-For is not believed.
        response = login(
            api, f"guess{i}@a.example", "wrong guess", **{"X-Forwarded-For": f"198.51.100.{i}"}
        )
        assert response.status_code == 401
    blocked = login(api, world.a.emails["owner"], **{"X-Forwarded-For": "198.51.100.99"})
    assert blocked.status_code == 429


def test_failed_sign_ins_are_audited(api, world):
    assert login(api, world.a.emails["front-desk"], "not the password").status_code == 401
    entries = api.get("/api/audit?entity=user", headers=world.a.auth()).json()
    failed = [e for e in entries if e["action"] == "login_failed"]
    assert failed and failed[0]["entity_id"] == world.a.ids["user_id"]
    assert failed[0]["detail"]["reason"] == "wrong password"


def _signed_ip(api, world, **headers: str) -> str:
    response = api.post(
        f"/api/consents/{world.a.ids['consent_id']}/sign",
        json={"signer_name": "Client A"},
        headers={**world.a.auth(), **headers},
    )
    assert response.status_code == 200, response.text
    return response.json()["signer_ip"]


def test_signer_ip_ignores_a_forwarded_for_from_an_untrusted_peer(app, world):
    with TestClient(app, base_url="https://testserver", client=("127.0.0.1", 5000)) as api:
        assert _signed_ip(api, world, **{"X-Forwarded-For": "203.0.113.9"}) == "127.0.0.1"


def test_signer_ip_is_the_client_a_trusted_proxy_names(app, world):
    from pointillist.web.proxies import parse_trusted_proxies

    app.state.trusted_proxies = parse_trusted_proxies(["10.0.0.0/8"])
    with TestClient(app, base_url="https://testserver", client=("10.0.0.2", 5000)) as api:
        # The leftmost entry is the client's own claim: only the proxy's addition counts.
        forwarded = {"X-Forwarded-For": "192.0.2.66, 203.0.113.9, 10.0.0.7"}
        assert _signed_ip(api, world, **forwarded) == "203.0.113.9"


def test_a_signed_consent_reports_verified_and_keeps_the_drawn_signature(api, world):
    ids = world.a.ids
    signed = api.post(
        f"/api/consents/{ids['consent_id']}/sign",
        json={"signer_name": "Client A", "drawn_signature": "M 1 1 L 20 5"},
        headers=world.a.auth(),
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["verified"] is True
    assert signed.json()["drawn_signature"] == "M 1 1 L 20 5"
    again = api.get(f"/api/consents/{ids['consent_id']}", headers=world.a.auth()).json()
    assert again["verified"] is True
    unsigned = api.post(
        f"/api/clients/{ids['client_id']}/consents",
        json={"template_id": ids["template_id"]},
        headers=world.a.auth(),
    )
    assert unsigned.json()["verified"] is None


def test_a_consent_whose_seal_fails_is_reported_unverified(api, world, app):
    ids = world.a.ids
    api.post(
        f"/api/consents/{ids['consent_id']}/sign",
        json={"signer_name": "Client A"},
        headers=world.a.auth(),
    )
    # The same database served with another key stands for a database rewritten by
    # someone who does not hold the key.
    app.state.integrity_key = b"not the key that sealed it"
    listed = api.get(f"/api/clients/{ids['client_id']}/consents", headers=world.a.auth()).json()
    assert [c["verified"] for c in listed] == [False]


def test_list_reads_are_audited(api, world):
    assert (
        api.get("/api/clients?search=client", headers=world.a.auth("front-desk")).status_code == 200
    )
    path = f"/api/clients/{world.a.ids['client_id']}/photos"
    assert api.get(path, headers=world.a.auth("practitioner")).status_code == 200
    entries = api.get("/api/audit", headers=world.a.auth()).json()
    lists = {(e["entity"], e["actor"]) for e in entries if e["action"] == "list"}
    assert ("client", world.a.emails["front-desk"]) in lists
    assert ("photo", world.a.emails["practitioner"]) in lists
    search = next(e for e in entries if e["action"] == "list" and e["entity"] == "client")
    assert search["detail"] == {"count": 1, "searched": True}


def test_actions_with_a_token_an_owner_minted_for_someone_else_name_the_minter(api, world):
    minted = api.post(
        "/api/auth/tokens",
        json={"name": "desk tablet", "user_id": world.a.ids["user_id"]},
        headers=world.a.auth(),
    )
    assert minted.status_code == 201, minted.text
    bearer = {"Authorization": f"Bearer {minted.json()['token']}"}
    assert api.get(f"/api/clients/{world.a.ids['client_id']}", headers=bearer).status_code == 200
    entries = api.get(
        f"/api/audit?entity=client&entity_id={world.a.ids['client_id']}", headers=world.a.auth()
    ).json()
    actors = [e["actor"] for e in entries if e["action"] == "read"]
    expected = (
        f"{world.a.emails['front-desk']} (token {minted.json()['id']} minted by "
        f"{world.a.emails['owner']})"
    )
    assert expected in actors
