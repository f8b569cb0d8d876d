"""The sign-in page and the headers every response carries."""

from __future__ import annotations


def test_the_sign_in_page_is_served_with_a_strict_content_security_policy(api):
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="login"' in page.text and "/static/login.js" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    script = api.get("/static/login.js")
    assert script.status_code == 200
    assert "X-CSRF-Token" in script.text and "/api/auth/login" in script.text
    assert "/" not in api.get("/openapi.json").json()["paths"]


def test_every_response_carries_the_hardening_headers(api, world):
    for response in (
        api.get("/healthz"),
        api.get("/api/clients", headers=world.a.auth()),
        api.get("/api/clients"),  # 401
        api.get("/"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
