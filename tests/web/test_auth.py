"""Sign-in, session cookies, CSRF, bearer tokens and roles."""

from __future__ import annotations

from datetime import date, timedelta

from tests.web.conftest import PASSWORD

NEW_CLIENT = {"name": "Walk-in Client"}


def login(api, email: str, password: str = PASSWORD):
    return api.post("/api/auth/login", json={"email": email, "password": password})


def test_login_sets_a_secure_httponly_samesite_session_cookie(api, world):
    response = login(api, world.a.emails["owner"].upper())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["email"] == world.a.emails["owner"]
    assert body["clinic"]["id"] == world.a.clinic_id
    assert "export_erase" in body["permissions"]
    cookies = {
        header.split("=", 1)[0]: header.lower()
        for header in response.headers.get_list("set-cookie")
    }
    session = cookies["pointillist_session"]
    assert "httponly" in session and "secure" in session and "samesite=strict" in session
    csrf = cookies["pointillist_csrf"]
    assert "httponly" not in csrf and "secure" in csrf
    assert api.cookies["pointillist_csrf"] == body["csrf_token"]


def test_wrong_password_is_401_without_saying_which_part_was_wrong(api, world):
    wrong = login(api, world.a.emails["owner"], "not the password at all")
    unknown = login(api, "nobody@nowhere.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_cookie_session_needs_the_csrf_token_to_change_anything(api, world):
    token = login(api, world.a.emails["owner"]).json()["csrf_token"]

    assert api.get("/api/clients").status_code == 200  # reads need no token

    refused = api.post("/api/clients", json=NEW_CLIENT)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]

    forged = api.post("/api/clients", json=NEW_CLIENT, headers={"X-CSRF-Token": token[:-2] + "xx"})
    assert forged.status_code == 403

    accepted = api.post("/api/clients", json=NEW_CLIENT, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201, accepted.text
    names = [c["name"] for c in api.get("/api/clients").json()]
    assert names.count("Walk-in Client") == 1


def test_csrf_token_of_another_session_is_refused(api, world):
    other_token = login(api, world.a.emails["front-desk"]).json()["csrf_token"]
    login(api, world.a.emails["owner"])
    response = api.post("/api/clients", json=NEW_CLIENT, headers={"X-CSRF-Token": other_token})
    assert response.status_code == 403


def test_bearer_token_needs_no_csrf_token(api, world):
    response = api.post("/api/clients", json=NEW_CLIENT, headers=world.a.auth())
    assert response.status_code == 201, response.text


def test_no_credentials_and_bad_credentials_are_401(api, world):
    assert api.get("/api/clients").status_code == 401
    bad = api.get("/api/clients", headers={"Authorization": "Bearer ptl_not-a-token"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    basic = api.get("/api/clients", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    api.cookies.set("pointillist_session", "forged.value", domain="testserver")
    assert api.get("/api/clients").status_code == 401


def test_logout_ends_the_browser_session(api, world):
    token = login(api, world.a.emails["owner"]).json()["csrf_token"]
    assert api.post("/api/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
    assert api.get("/api/auth/me").status_code == 401


def test_changing_the_password_ends_existing_sessions(api, world):
    token = login(api, world.a.emails["owner"]).json()["csrf_token"]
    stolen = dict(api.cookies)
    changed = api.post(
        "/api/auth/password",
        json={"new_password": "a brand new passphrase", "current_password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert changed.status_code == 204, changed.text
    api.cookies.clear()
    for name, value in stolen.items():
        api.cookies.set(name, value, domain="testserver")
    assert api.get("/api/auth/me").status_code == 401
    assert login(api, world.a.emails["owner"], "a brand new passphrase").status_code == 200


def test_api_tokens_are_shown_once_and_can_be_revoked(api, world):
    created = api.post("/api/auth/tokens", json={"name": "tablet"}, headers=world.a.auth())
    assert created.status_code == 201, created.text
    secret, token_id = created.json()["token"], created.json()["id"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/auth/me", headers=bearer).json()["user"]["role"] == "owner"
    listed = api.get("/api/auth/tokens", headers=world.a.auth()).json()
    assert all("token" not in t for t in listed)
    revoked = api.delete(f"/api/auth/tokens/{token_id}", headers=world.a.auth())
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api.get("/api/auth/me", headers=bearer).status_code == 401


def test_deactivated_user_is_locked_out(api, world):
    user_id = world.a.ids["user_id"]
    response = api.patch(f"/api/users/{user_id}", json={"is_active": False}, headers=world.a.auth())
    assert response.status_code == 200, response.text
    assert api.get("/api/clients", headers=world.a.auth("front-desk")).status_code == 401


def test_front_desk_sees_no_health_data_and_cannot_record_sessions(api, world):
    desk = world.a.auth("front-desk")
    ids = world.a.ids
    client = api.get(f"/api/clients/{ids['client_id']}", headers=desk).json()
    assert client["name"] == "Client A" and client["notes"] is None
    practitioner_view = api.get(
        f"/api/clients/{ids['client_id']}", headers=world.a.auth("practitioner")
    )
    assert practitioner_view.json()["notes"] == "keloid?"

    for path in (
        f"/api/clients/{ids['client_id']}/consultations",
        f"/api/consultations/{ids['consultation_id']}",
        f"/api/plans/{ids['plan_id']}",
        f"/api/photos/{ids['photo_id']}/file",
        f"/api/simulations/{ids['simulation_id']}",
        "/api/audit",
        f"/api/lots/{world.a.lot}/recall",
        f"/api/clients/{ids['client_id']}/export",
    ):
        response = api.get(path, headers=desk)
        assert response.status_code == 403, (path, response.text)
        assert "front-desk" in response.json()["detail"]
    for path, body in (
        (f"/api/sessions/{ids['session_id']}/complete", None),
        (f"/api/sessions/{ids['session_id']}/bottles", {"bottle_ids": [ids["bottle_id"]]}),
    ):
        assert api.post(path, json=body, headers=desk).status_code == 403
    note = api.patch(f"/api/sessions/{ids['session_id']}", json={"notes": "x"}, headers=desk)
    assert note.status_code == 403

    # What reception does: book, reschedule, prepare and sign consents, add stock.
    booked = api.post(
        "/api/sessions",
        json={
            "client_id": ids["client_id"],
            "practitioner_id": ids["practitioner_id"],
            "scheduled_on": str(date.today() + timedelta(days=10)),
        },
        headers=desk,
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["notes"] is None
    signed = api.post(
        f"/api/consents/{ids['consent_id']}/sign", json={"signer_name": "Client A"}, headers=desk
    )
    assert signed.status_code == 200, signed.text


def test_only_the_owner_manages_users(api, world):
    new_user = {
        "email": "new@a.example",
        "name": "New",
        "role": "front-desk",
        "password": "long enough password",
    }
    for role in ("practitioner", "front-desk"):
        response = api.post("/api/users", json=new_user, headers=world.a.auth(role))
        assert response.status_code == 403
        assert api.get("/api/users", headers=world.a.auth(role)).status_code == 403
    created = api.post("/api/users", json=new_user, headers=world.a.auth())
    assert created.status_code == 201, created.text
    assert login(api, "new@a.example", "long enough password").status_code == 200
    again = api.post("/api/users", json=new_user, headers=world.a.auth())
    assert again.status_code == 409


def test_a_user_reads_their_own_account_but_not_others(api, world):
    me = api.get("/api/auth/me", headers=world.a.auth("practitioner")).json()["user"]
    own = api.get(f"/api/users/{me['id']}", headers=world.a.auth("practitioner"))
    assert own.status_code == 200
    other = api.get(f"/api/users/{world.a.ids['owner_id']}", headers=world.a.auth("practitioner"))
    assert other.status_code == 403


def test_repeated_failed_sign_ins_are_throttled(api, world, app):
    app.state.login_throttle.limits["account"] = 3
    email = world.a.emails["owner"]
    for _ in range(3):
        assert login(api, email, "wrong password, again").status_code == 401
    blocked = login(api, email)  # even the right password waits
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in blocked.json()["detail"]
    assert login(api, world.a.emails["front-desk"]).status_code == 200  # another account


def test_the_throttle_forgets_failures_outside_its_window():
    from pointillist.web.throttle import LoginThrottle

    throttle = LoginThrottle(max_per_account=2, max_per_address=100, window_s=60)
    throttle.failed("10.0.0.1", "A@x", now=0)
    throttle.failed("10.0.0.1", "a@x", now=10)
    assert throttle.retry_after("10.0.0.1", "a@x", now=20) == 40
    assert throttle.retry_after("10.0.0.1", "a@x", now=61) is None
    throttle.failed("10.0.0.1", "a@x", now=62)
    throttle.succeeded("10.0.0.1", "a@x")
    assert throttle.retry_after("10.0.0.1", "a@x", now=63) is None


def test_the_throttle_counts_per_account_from_any_address_and_per_address_for_any_account():
    from pointillist.web.throttle import LoginThrottle

    throttle = LoginThrottle(max_per_account=3, max_per_address=5, window_s=60)
    # One account guessed at from many machines.
    for i in range(3):
        throttle.failed(f"10.0.0.{i}", "owner@x", now=i)
    assert throttle.retry_after("10.9.9.9", "owner@x", now=5) is not None
    # One machine spraying many accounts, one guess each.
    for i in range(5):
        throttle.failed("192.0.2.1", f"user{i}@x", now=i)
    assert throttle.retry_after("192.0.2.1", "someone-else@x", now=6) is not None
    assert throttle.retry_after("192.0.2.2", "someone-else@x", now=6) is None
    # A good password clears the account, not the address's spray.
    throttle.succeeded("192.0.2.1", "user0@x")
    assert throttle.retry_after("192.0.2.1", "user0@x", now=7) is not None
