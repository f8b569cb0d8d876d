"""The server runs the clinic's rules: its policy files, its settings, its cookie security."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD

from pointillist.cli import main

ANSWERS = {"answers": {"pattern": "norwood-4", "sex": "male", "age": 40, "fitzpatrick": 3}}


def _set_cookie_headers(response) -> dict[str, str]:
    return {
        header.split("=", 1)[0]: header.lower()
        for header in response.headers.get_list("set-cookie")
    }


def _login(client: TestClient, email: str):
    return client.post("/api/auth/login", json={"email": email, "password": PASSWORD})


@pytest.mark.parametrize(("scheme", "secure"), [("http", False), ("https", True)])
def test_the_session_cookie_follows_the_scheme_by_default(app, world, scheme, secure):
    with TestClient(app, base_url=f"{scheme}://clinic.lan") as client:
        response = _login(client, world.a.emails["front-desk"])
        assert response.status_code == 200, response.text
        cookies = _set_cookie_headers(response)
        assert ("secure" in cookies["pointillist_session"]) is secure
        # The browser keeps the cookie and the next request is signed in: over plain HTTP
        # on the clinic's network too.
        assert client.get("/api/auth/me").status_code == 200


@pytest.mark.parametrize(("peer", "secure"), [("10.0.0.2", True), ("192.0.2.7", False)])
def test_behind_a_tls_proxy_the_cookie_is_secure_only_if_the_proxy_is_trusted(
    app, world, peer, secure
):
    from pointillist.web.proxies import parse_trusted_proxies

    app.state.trusted_proxies = parse_trusted_proxies(["10.0.0.0/8"])
    with TestClient(app, base_url="http://clinic.lan", client=(peer, 5000)) as client:
        response = client.post(
            "/api/auth/login",
            json={"email": world.a.emails["front-desk"], "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert response.status_code == 200, response.text
        cookies = _set_cookie_headers(response)
        assert ("secure" in cookies["pointillist_session"]) is secure


def test_the_cookie_security_setting_overrides_the_scheme(settings, clean_database, db):
    from tests.web.conftest import seed_clinic

    from pointillist.web import create_app

    app = create_app(settings.model_copy(update={"cookie_secure": True}))
    clinic = seed_clinic(db, app.state.photo_store, "A")
    with TestClient(app, base_url="http://clinic.lan") as client:
        cookies = _set_cookie_headers(_login(client, clinic.emails["owner"]))
        assert "secure" in cookies["pointillist_session"]


def test_auto_is_the_documented_word_for_following_the_scheme(monkeypatch, tmp_path):
    from pointillist.settings import Settings

    monkeypatch.setenv("POINTILLIST_COOKIE_SECURE", "auto")
    assert Settings(data=tmp_path).cookie_secure is None
    assert "follow the request" in Settings(data=tmp_path).cookie_security()
    monkeypatch.setenv("POINTILLIST_COOKIE_SECURE", "true")
    assert Settings(data=tmp_path).cookie_secure is True


def test_consultations_use_the_clinic_file_serve_was_given(settings, clean_database, db, tmp_path):
    from tests.web.conftest import seed_clinic

    from pointillist.web import create_app

    clinic_file = tmp_path / "clinic.toml"
    clinic_file.write_text('[pricing]\ncurrency = "EUR"\nbase_fee = 450\ntax_rate = 0.21\n')
    app = create_app(settings.model_copy(update={"clinic_file": clinic_file}))
    world = seed_clinic(db, app.state.photo_store, "A")
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            f"/api/clients/{world.ids['client_id']}/consultations",
            json=ANSWERS,
            headers=world.auth("practitioner"),
        )
    assert response.status_code == 201, response.text
    quote = response.json()["plan"]["snapshot"]["quote"]
    assert quote["currency"] == "EUR"
    assert quote["lines"][0]["amount"] == 450.0
    assert any("tax" in line["label"].lower() for line in quote["lines"])


def test_a_clinics_own_settings_price_its_consultations(api, world, db):
    from pointillist.domain import load_policy
    from pointillist.store.clinic import update_clinic_settings
    from pointillist.store.scope import Scope

    update_clinic_settings(
        db, Scope.operator(world.a.clinic_id), load_policy(), {"currency": "GBP"}
    )
    db.commit()
    for clinic, currency in ((world.a, "GBP"), (world.b, "USD")):
        response = api.post(
            f"/api/clients/{clinic.ids['client_id']}/consultations",
            json=ANSWERS,
            headers=clinic.auth("practitioner"),
        )
        assert response.json()["plan"]["snapshot"]["quote"]["currency"] == currency


@pytest.mark.parametrize(
    ("option", "content", "words"),
    [
        ("--clinic", "[pricng]\ncurrency = 'EUR'\n", "unknown table [pricng]"),
        ("--rules", "not toml [", "not valid TOML"),
        ("--pigments", None, "file not found"),
    ],
)
def test_serve_refuses_a_bad_policy_file_in_one_line(
    capsys, tmp_path, monkeypatch, option, content, words
):
    monkeypatch.setenv("POINTILLIST_DATA", str(tmp_path / "data"))
    path = tmp_path / "policy.toml"
    if content is not None:
        path.write_text(content)
    assert main(["serve", option, str(path), "--port", "8998"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1
    assert not (tmp_path / "data" / "pointillist.sqlite3").exists()  # nothing migrated


def test_booking_through_the_api_honours_hours_and_clashes(api, world):
    ids, desk = world.a.ids, world.a.auth("front-desk")
    day = (date.today() + timedelta(days=20)).isoformat()

    def book(at: str, minutes: int):
        return api.post(
            "/api/sessions",
            json={
                "client_id": ids["client_id"],
                "practitioner_id": ids["practitioner_id"],
                "scheduled_on": day,
                "start_time": at,
                "duration_minutes": minutes,
            },
            headers=desk,
        )

    assert book("10:00", 120).status_code == 201
    clash = book("11:00", 60)
    assert clash.status_code == 409
    assert "already booked" in clash.json()["detail"] and "10:00-12:00" in clash.json()["detail"]
    late = book("17:00", 120)
    assert late.status_code == 409 and "after closing time" in late.json()["detail"]
    plan = api.post(
        f"/api/sessions/book-plan/{ids['plan_id']}",
        json={"practitioner_id": ids["practitioner_id"], "start_time": "09:00"},
        headers=desk,
    )
    assert plan.status_code == 201, plan.text
    assert [s["start_time"] for s in plan.json()] == ["09:00:00"]


def test_serve_says_which_files_and_cookie_security_apply(capsys, tmp_path, monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append(app))
    monkeypatch.setenv("POINTILLIST_DATA", str(tmp_path / "data"))
    clinic_file = tmp_path / "clinic.toml"
    clinic_file.write_text('[pricing]\ncurrency = "EUR"\n')
    assert main(["serve", "--clinic", str(clinic_file), "--port", "8997"]) in (0, None)
    err = capsys.readouterr().err
    assert f"clinic policy: {clinic_file}" in err
    assert "screening rules: packaged defaults" in err
    assert "session cookies follow the request: Secure over https, plain over http" in err
    assert "/docs" not in err and len(started) == 1
