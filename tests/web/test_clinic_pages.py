"""Appointments, session log, stock, recall and clinic pages, through the app's forms."""

from __future__ import annotations

import html
from datetime import date, timedelta

from tests.web.conftest import PASSWORD

DAY = date.today() + timedelta(days=21)


def sign_in(api, email: str) -> str:
    api.post("/sign-in", data={"email": email, "password": PASSWORD})
    return api.cookies["pointillist_csrf"]


def text(response) -> str:
    return html.unescape(response.text)


def book(api, token, world, at: str, minutes: str = "60"):
    return api.post(
        "/appointments",
        data={
            "csrf_token": token,
            "practitioner_id": world.a.ids["practitioner_id"],
            "client_id": world.a.ids["client_id"],
            "scheduled_on": DAY.isoformat(),
            "start_time": at,
            "duration_minutes": minutes,
        },
        follow_redirects=False,
    )


def test_the_calendar_books_and_names_a_clash_keeping_what_was_typed(api, world):
    token = sign_in(api, world.a.emails["front-desk"])
    booked = book(api, token, world, "10:00", "120")
    assert booked.status_code == 303, text(booked)
    week = api.get(booked.headers["location"])
    assert "10:00-12:00" in text(week) and "Client A" in text(week)

    clash = book(api, token, world, "11:00", "45")
    assert clash.status_code == 409
    page = text(clash)
    assert "Practitioner A is already booked on" in page and "10:00-12:00" in page
    assert 'value="11:00"' in page and 'value="45"' in page  # nothing typed is lost

    missing = book(api, token, world, "", "")
    assert missing.status_code == 422
    assert "give the start time" in text(missing) and "give the length in minutes" in text(missing)


def test_the_day_view_shows_closed_days(api, world, db):
    from pointillist.domain import load_policy
    from pointillist.store.clinic import update_clinic_settings
    from pointillist.store.scope import Scope

    update_clinic_settings(
        db, Scope.operator(world.a.clinic_id), load_policy(), {"closed_dates": [DAY.isoformat()]}
    )
    db.commit()
    sign_in(api, world.a.emails["owner"])
    day = api.get(f"/appointments?view=day&day={DAY.isoformat()}")
    assert day.status_code == 200 and "Closed" in day.text


def test_the_session_log_records_a_lot_and_completes_only_with_consent(app, api, world, db):
    from pointillist.store.records import sign_consent

    token = sign_in(api, world.a.emails["practitioner"])
    session_url = f"/sessions/{world.a.ids['session_id']}"
    refused = api.post(f"{session_url}/complete", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "has not signed" in text(refused) and "no pigment lot" in text(refused)

    saved = api.post(
        session_url,
        data={"csrf_token": token, "needle": "1RL 0.25 mm", "zones": ["crown"], "notes": "calm"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    lot = api.post(
        f"{session_url}/lots",
        data={"csrf_token": token, "bottle_id": str(world.a.ids["bottle_id"])},
        follow_redirects=False,
    )
    assert lot.status_code == 303
    page = text(api.get(session_url))
    assert f"Lot {world.a.lot}" in page and "1RL 0.25 mm" in page

    from pointillist.store.scope import Scope

    sign_consent(
        db,
        Scope.operator(world.a.clinic_id),
        world.a.ids["consent_id"],
        signer_name="Client A",
        signer_ip=None,
        seal_key=app.state.integrity_key,
    )
    db.commit()
    done = api.post(f"{session_url}/complete", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert "completed" in api.get(session_url).text


def test_the_front_desk_sees_the_booking_but_no_session_log(api, world):
    sign_in(api, world.a.emails["front-desk"])
    page = api.get(f"/sessions/{world.a.ids['session_id']}")
    assert page.status_code == 200
    assert "Pigment lots" not in page.text and "Notes" not in page.text
    assert api.get("/recall?lot=X").status_code == 403
    assert api.get("/clinic").status_code == 403


def test_stock_refuses_an_expired_bottle_and_recall_finds_the_lot(api, world):
    token = sign_in(api, world.a.emails["practitioner"])
    expired = api.post(
        "/stock",
        data={
            "csrf_token": token,
            "brand": "Ink Co",
            "shade": "Dark",
            "lot": "OLD-1",
            "expires_on": (date.today() - timedelta(days=1)).isoformat(),
        },
    )
    assert expired.status_code == 409 and "discard it" in text(expired)
    assert 'value="OLD-1"' in expired.text
    stock = api.get("/stock")
    assert world.a.lot in stock.text and "OLD-1" not in stock.text.split("<form")[0]

    api.post(
        f"/sessions/{world.a.ids['session_id']}/lots",
        data={"csrf_token": token, "bottle_id": str(world.a.ids["bottle_id"])},
    )
    found = api.get(f"/recall?lot={world.a.lot.lower()}")
    assert "1 session, 1 client" in found.text and "client@a.example" in found.text
    # Clinic B's lot is not clinic A's business.
    assert f"No session used lot {world.b.lot}" in api.get(f"/recall?lot={world.b.lot}").text


def test_settings_change_prices_and_hours_and_refuse_impossible_values(api, world):
    token = sign_in(api, world.a.emails["owner"])
    form = api.get("/clinic")
    assert form.status_code == 200 and 'value="USD"' in form.text
    data = {
        "csrf_token": token,
        "name": "Clinic A",
        "licence_number": "LIC-A",
        "licence_authority": "City",
        "licence_expires_on": (date.today() + timedelta(days=10)).isoformat(),
        "opening_time": "10:00",
        "closing_time": "09:00",
        "closed_weekdays": ["sunday"],
        "closed_dates": "",
        "currency": "EUR",
        "tax_rate": "21",
        "deposit_fraction": "20",
        "base_fee": "450",
        "rate_per_cm2": "2.1",
    }
    refused = api.post("/clinic", data=data)
    assert refused.status_code == 422
    assert "closes at 09:00, not after it opens at 10:00" in text(refused)
    assert 'value="EUR"' in refused.text and 'value="450"' in refused.text

    saved = api.post("/clinic", data={**data, "closing_time": "19:00"}, follow_redirects=False)
    assert saved.status_code == 303
    again = api.get("/clinic")
    assert "expires on" in text(again)  # the licence warning, on every page
    assert 'value="EUR"' in again.text and 'value="19:00"' in again.text
    consult = api.post(
        f"/api/clients/{world.a.ids['client_id']}/consultations",
        json={"answers": {"pattern": "norwood-4", "sex": "male", "age": 40, "fitzpatrick": 3}},
        headers=world.a.auth("practitioner"),
    )
    quote = consult.json()["plan"]["snapshot"]["quote"]
    assert quote["currency"] == "EUR" and quote["lines"][0]["amount"] == 450.0


def test_users_and_the_audit_log_for_the_owner(api, world):
    token = sign_in(api, world.a.emails["owner"])
    short = api.post(
        "/clinic/users",
        data={
            "csrf_token": token,
            "name": "Nina",
            "email": "nina@a.example",
            "role": "front-desk",
            "password": "short",
        },
    )
    assert short.status_code == 422 and 'value="nina@a.example"' in short.text
    added = api.post(
        "/clinic/users",
        data={
            "csrf_token": token,
            "name": "Nina",
            "email": "nina@a.example",
            "role": "front-desk",
            "password": "a long enough password",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "nina@a.example" in api.get("/clinic/users").text
    audit = api.get("/clinic/audit?entity=user")
    assert audit.status_code == 200 and "create" in audit.text
    assert world.a.emails["owner"] in audit.text


def test_another_clinics_session_is_404(api, world):
    sign_in(api, world.a.emails["owner"])
    assert api.get(f"/sessions/{world.b.ids['session_id']}").status_code == 404
    other = api.get(f"/appointments?practitioner={world.b.ids['practitioner_id']}")
    assert other.status_code == 404


def test_the_owner_records_a_renewed_practitioner_licence(api, world):
    token = sign_in(api, world.a.emails["owner"])
    pid = world.a.ids["practitioner_id"]
    lapsed = (date.today() - timedelta(days=3)).isoformat()
    api.post(
        "/clinic/practitioners",
        data={
            "csrf_token": token,
            "practitioner_id": pid,
            "licence_number": "P-A",
            "licence_expires_on": lapsed,
        },
    )
    users = text(api.get("/clinic/users"))
    assert f"licence expired on {lapsed}" in users
    refused = book(api, token, world, "10:00")
    assert refused.status_code == 409 and "licence expired on" in text(refused)

    renewed = api.post(
        "/clinic/practitioners",
        data={
            "csrf_token": token,
            "practitioner_id": pid,
            "licence_number": "P-A2",
            "licence_expires_on": (date.today() + timedelta(days=365)).isoformat(),
        },
        follow_redirects=False,
    )
    assert renewed.status_code == 303
    assert book(api, token, world, "10:00").status_code == 303

    added = api.post(
        "/clinic/practitioners",
        data={"csrf_token": token, "name": "", "licence_number": "X"},
    )
    assert added.status_code == 422 and "give the practitioner's name" in text(added)
    assert 'value="X"' in added.text


def test_policy_files_are_checked_kept_and_laid_over_the_served_ones(api, world, db):
    from pointillist.store import audit
    from pointillist.store.models import Clinic
    from pointillist.store.scope import Scope

    token = sign_in(api, world.a.emails["owner"])
    page = api.get("/clinic/policy")
    assert page.status_code == 200 and "Pigment catalogue (TOML)" in text(page)
    # The settings page's own currency, then a policy file that sets it too.
    saved = api.post(
        "/clinic",
        data={
            "csrf_token": token,
            "name": "Clinic A",
            "opening_time": "09:00",
            "closing_time": "18:00",
            "closed_weekdays": ["sunday"],
            "currency": "GBP",
            "tax_rate": "0",
            "deposit_fraction": "20",
            "base_fee": "300",
            "rate_per_cm2": "2",
        },
    )
    assert saved.status_code in (200, 303), text(saved)

    typo = "[pricing]\nbase_fe = 450\n"
    refused = api.post("/clinic/policy", data={"csrf_token": token, "kind": "clinic", "text": typo})
    assert refused.status_code == 422
    assert "clinic policy: pricing.base_fe: unknown key; allowed here:" in text(refused)
    assert typo in text(refused)  # nothing typed is lost
    bad_rules = api.post(
        "/clinic/policy", data={"csrf_token": token, "kind": "rules", "text": "[[rules]\n"}
    )
    assert bad_rules.status_code == 422 and "screening rules: not valid TOML" in text(bad_rules)
    bad_shade = '[[generic_shades]]\nid = "x"\nname = "X"\ndilution = "lots"\n'
    refused = api.post(
        "/clinic/policy", data={"csrf_token": token, "kind": "pigments", "text": bad_shade}
    )
    assert refused.status_code == 422
    assert "pigment catalogue: generic_shades[1].dilution: must be a number" in text(refused)

    good = '[pricing]\ncurrency = "EUR"\n'
    done = api.post("/clinic/policy", data={"csrf_token": token, "kind": "clinic", "text": good})
    assert done.status_code == 200
    assert "It now sets currency (the settings page's own values for them were dropped)" in text(
        done
    )
    db.expire_all()
    clinic = db.get(Clinic, world.a.clinic_id)
    assert clinic.policy_files == {"clinic": good}
    assert "currency" not in clinic.settings and clinic.settings["base_fee"] == 300.0
    db.rollback()  # SQLite: let the app write
    # In force for this clinic's consultations, not the other clinic's.
    from tests.web.test_clinic_rules import ANSWERS

    for who, currency, fee in ((world.a, "EUR", 300.0), (world.b, "USD", None)):
        quote = api.post(
            f"/api/clients/{who.ids['client_id']}/consultations",
            json=ANSWERS,
            headers=who.auth("practitioner"),
        ).json()["plan"]["snapshot"]["quote"]
        assert quote["currency"] == currency
        if fee is not None:  # the settings page's base fee is the last word on it
            assert quote["lines"][0]["amount"] == fee
    logged = audit.entries(db, Scope.operator(world.a.clinic_id), entity="clinic")
    assert any("policy_files.clinic" in e.detail.get("fields", []) for e in logged)
    assert any("settings.currency" in e.detail.get("fields", []) for e in logged)
