"""The app's page machinery (sign-in, CSRF, error pages) and the headers every response
carries."""

from __future__ import annotations

from tests.web.conftest import PASSWORD


def test_the_sign_in_page_is_served_with_a_strict_content_security_policy(api):
    page = api.get("/sign-in")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'action="/sign-in"' in page.text and "/static/vendor/htmx/htmx.min.js" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    script = api.get("/static/app.js")
    assert script.status_code == 200 and "X-CSRF-Token" in script.text
    assert api.get("/static/vendor/htmx/htmx.min.js").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/api/", "/healthz"))]


def test_pages_send_a_visitor_to_sign_in_and_back(api):
    home = api.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/sign-in")
    deep = api.get("/clients/7?tab=x", follow_redirects=False)
    assert deep.headers["location"] == "/sign-in?next=%2Fclients%2F7%3Ftab%3Dx"
    htmx = api.get("/clients", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.headers["hx-redirect"]) == (204, "/sign-in?next=%2Fclients")


def test_sign_in_form_keeps_the_address_and_refuses_other_sites(api, world):
    wrong = api.post("/sign-in", data={"email": world.a.emails["owner"], "password": "nope"})
    assert wrong.status_code == 401
    assert "wrong e-mail or password" in wrong.text
    assert f'value="{world.a.emails["owner"]}"' in wrong.text
    right = api.post(
        "/sign-in",
        data={"email": world.a.emails["owner"], "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert (right.status_code, right.headers["location"]) == (303, "/clients")


def test_a_page_form_without_the_csrf_token_is_refused_and_with_it_accepted(api, world):
    api.post("/sign-in", data={"email": world.a.emails["owner"], "password": PASSWORD})
    refused = api.post("/clients/new", data={"name": "Pat"})
    assert refused.status_code == 403 and "reload the page" in refused.text
    token = api.cookies["pointillist_csrf"]
    added = api.post(
        "/clients/new", data={"name": "Pat", "csrf_token": token}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"].startswith("/clients/")


def test_page_errors_are_pages_and_api_errors_stay_json(api, world):
    api.post("/sign-in", data={"email": world.a.emails["owner"], "password": PASSWORD})
    other = api.get(f"/clients/{world.b.ids['client_id']}")
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")
    assert f"no client {world.b.ids['client_id']} in this clinic" in other.text
    api_other = api.get(f"/api/clients/{world.b.ids['client_id']}")
    assert api_other.status_code == 404 and api_other.json()["detail"].startswith("no client")


def test_every_response_carries_the_hardening_headers(api, world):
    for response in (
        api.get("/healthz"),
        api.get("/api/clients", headers=world.a.auth()),
        api.get("/api/clients"),  # 401
        api.get("/sign-in"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_page_sign_out_ends_the_session_on_the_server(api, world):
    api.post("/sign-in", data={"email": world.a.emails["owner"], "password": PASSWORD})
    copied = dict(api.cookies)
    token = api.cookies["pointillist_csrf"]
    out = api.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/sign-in")
    api.cookies.clear()
    for name, value in copied.items():
        api.cookies.set(name, value, domain="testserver")
    # A copy of the cookie taken before sign-out works neither on the pages nor the API.
    assert api.get("/clients", follow_redirects=False).headers["location"].startswith("/sign-in")
    assert api.get("/api/auth/me").status_code == 401


def test_page_sign_in_is_throttled_per_account_like_the_api(api, world):
    email = world.a.emails["owner"]
    for _ in range(10):
        assert api.post("/sign-in", data={"email": email, "password": "nope"}).status_code == 401
    blocked = api.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429 and "too many failed sign-ins" in blocked.text
    # The API shares the count: the account is locked out there too.
    locked = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert locked.status_code == 429
    # Each failure on the page is audited, with the address it came from.
    entries = api.get("/api/audit?entity=user", headers=world.a.auth()).json()
    failed = [e for e in entries if e["action"] == "login_failed"]
    assert len(failed) == 10 and failed[0]["detail"]["address"] == "testclient"
