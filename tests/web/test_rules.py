"""The rules of practice the API enforces: licences, consents, lots, recall."""

from __future__ import annotations

from datetime import date, timedelta

from tests.web.conftest import seed_clinic

TODAY = date.today()


def _day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def _sign(api, world, consent_id=None):
    consent_id = consent_id or world.a.ids["consent_id"]
    return api.post(
        f"/api/consents/{consent_id}/sign", json={"signer_name": "Client A"}, headers=world.a.auth()
    )


def test_a_practitioner_with_an_expired_licence_cannot_be_booked(api, world):
    ids, owner = world.a.ids, world.a.auth()
    expired = api.patch(
        f"/api/practitioners/{ids['practitioner_id']}",
        json={"licence_expires_on": _day(-1)},
        headers=owner,
    )
    assert expired.status_code == 200, expired.text
    booking = {
        "client_id": ids["client_id"],
        "practitioner_id": ids["practitioner_id"],
        "scheduled_on": _day(7),
    }
    refused = api.post("/api/sessions", json=booking, headers=owner)
    assert refused.status_code == 409
    assert "licence expired" in refused.json()["detail"]
    assert refused.json()["errors"][0]["field"] == "practitioner_id"
    moved = api.patch(
        f"/api/sessions/{ids['session_2_id']}", json={"scheduled_on": _day(40)}, headers=owner
    )
    assert moved.status_code == 409

    api.patch(
        f"/api/practitioners/{ids['practitioner_id']}",
        json={"licence_expires_on": _day(365)},
        headers=owner,
    )
    assert api.post("/api/sessions", json=booking, headers=owner).status_code == 201


def test_completing_a_session_needs_a_signed_consent_and_a_pigment_lot(api, world):
    ids, owner = world.a.ids, world.a.auth()
    complete = f"/api/sessions/{ids['session_id']}/complete"

    before = api.get(f"/api/sessions/{ids['session_id']}", headers=owner).json()
    assert len(before["completion_problems"]) == 2

    refused = api.post(complete, headers=owner)
    assert refused.status_code == 409
    assert "consent" in refused.json()["detail"] and "pigment lot" in refused.json()["detail"]

    assert _sign(api, world).status_code == 200
    refused = api.post(complete, headers=owner)
    assert refused.status_code == 409
    assert "consent" not in refused.json()["detail"]
    assert "pigment lot" in refused.json()["detail"]

    recorded = api.post(
        f"/api/sessions/{ids['session_id']}/bottles",
        json={"bottle_ids": [ids["bottle_id"]]},
        headers=owner,
    )
    assert recorded.status_code == 200
    assert [b["lot"] for b in recorded.json()["bottles"]] == [world.a.lot]
    assert recorded.json()["completion_problems"] == []

    done = api.post(complete, headers=world.a.auth("practitioner"))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["completed_at"]
    again = api.post(complete, headers=owner)
    assert again.status_code == 409 and "completed" in again.json()["detail"]


def test_an_expired_bottle_cannot_be_recorded(api, world):
    ids, owner = world.a.ids, world.a.auth()
    stale = {"brand": "Brand", "shade": "Dark", "lot": "OLD-1", "expires_on": _day(-1)}
    refused = api.post("/api/bottles", json=stale, headers=owner)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "expires_on"

    # In date today, but expired by the day of the later session.
    short = api.post("/api/bottles", json={**stale, "expires_on": _day(10)}, headers=owner)
    assert short.status_code == 201
    later = api.post(
        f"/api/sessions/{ids['session_2_id']}/bottles",
        json={"bottle_ids": [short.json()["id"]]},
        headers=owner,
    )
    assert later.status_code == 409
    assert "expired" in later.json()["detail"]
    session = api.get(f"/api/sessions/{ids['session_2_id']}", headers=owner).json()
    assert session["bottles"] == []


def test_a_signed_consent_is_immutable(api, world, db):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    signed = _sign(api, world)
    assert signed.status_code == 200
    body = signed.json()
    assert body["signer_name"] == "Client A" and body["signed_at"]
    assert body["signer_ip"]  # the test client's address
    assert len(body["content_sha256"]) == 64
    assert "Clinic A" in body["text"]

    again = api.post(
        f"/api/consents/{world.a.ids['consent_id']}/sign",
        json={"signer_name": "Someone Else"},
        headers=world.a.auth(),
    )
    assert again.status_code == 409
    assert "cannot be changed" in again.json()["detail"]
    for method in ("PATCH", "PUT", "DELETE"):
        attempt = api.request(
            method, f"/api/consents/{world.a.ids['consent_id']}", headers=world.a.auth()
        )
        assert attempt.status_code == 405
    after = api.get(f"/api/consents/{world.a.ids['consent_id']}", headers=world.a.auth()).json()
    assert after == body

    # Below the API, the database refuses the change too.
    try:
        with db.begin():
            db.execute(
                text("UPDATE consents SET signer_name = 'Forged' WHERE id = :id"),
                {"id": world.a.ids["consent_id"]},
            )
    except DBAPIError:  # IntegrityError or InternalError, depending on the database
        db.rollback()
    else:
        raise AssertionError("the database accepted a change to a signed consent")


def test_new_consent_wording_is_a_new_version(api, world):
    owner = world.a.auth()
    created = api.post(
        "/api/consent-templates",
        json={"name": "treatment", "text": "New wording for {clinic}."},
        headers=owner,
    )
    assert created.status_code == 201 and created.json()["version"] == 2
    prepared = api.post(
        f"/api/clients/{world.a.ids['client_id']}/consents",
        json={"template_id": created.json()["id"]},
        headers=owner,
    )
    assert prepared.json()["text"] == "New wording for Clinic A."
    old = api.get(f"/api/consents/{world.a.ids['consent_id']}", headers=owner).json()
    assert old["text"] != prepared.json()["text"]
    versions = api.get("/api/consent-templates?name=treatment", headers=owner).json()
    assert [v["version"] for v in versions] == [1, 2]


def test_lot_recall_finds_every_client_and_session_that_received_the_lot(api, world, app, db):
    ids, owner = world.a.ids, world.a.auth()
    second_client = api.post("/api/clients", json={"name": "Another Client"}, headers=owner).json()
    booked = api.post(
        "/api/sessions",
        json={
            "client_id": second_client["id"],
            "practitioner_id": ids["practitioner_id"],
            "scheduled_on": _day(3),
        },
        headers=owner,
    ).json()
    cancelled = api.post(
        "/api/sessions",
        json={
            "client_id": second_client["id"],
            "practitioner_id": ids["practitioner_id"],
            "scheduled_on": _day(4),
        },
        headers=owner,
    ).json()
    other_lot = api.post(
        "/api/bottles",
        json={"brand": "Brand", "shade": "Light", "lot": "OTHER", "expires_on": _day(300)},
        headers=owner,
    ).json()
    for session_id, bottle_ids in (
        (ids["session_id"], [ids["bottle_id"]]),
        (booked["id"], [ids["bottle_id"], other_lot["id"]]),
        (cancelled["id"], [ids["bottle_id"]]),
        (ids["session_2_id"], [other_lot["id"]]),
    ):
        response = api.post(
            f"/api/sessions/{session_id}/bottles", json={"bottle_ids": bottle_ids}, headers=owner
        )
        assert response.status_code == 200, response.text
    api.post(f"/api/sessions/{cancelled['id']}/cancel", headers=owner)

    recall = api.get(f"/api/lots/{world.a.lot.lower()}/recall", headers=owner)
    assert recall.status_code == 200, recall.text
    body = recall.json()
    assert body["session_count"] == 2
    by_client = {c["client_id"]: [s["session_id"] for s in c["sessions"]] for c in body["clients"]}
    assert by_client == {ids["client_id"]: [ids["session_id"]], second_client["id"]: [booked["id"]]}
    assert {c["email"] for c in body["clients"]} == {"client@a.example", None}

    unused = api.get("/api/lots/NEVER-BOUGHT/recall", headers=owner)
    assert unused.status_code == 404 and "lot" in unused.json()["detail"]
    logged = api.get("/api/audit?entity=pigment_lot", headers=owner).json()
    assert logged[0]["action"] == "recall" and logged[0]["detail"]["sessions"] == 2


def test_an_expired_clinic_licence_is_warned_on_every_response(api, world, app, db):
    ok = api.get("/api/clients", headers=world.a.auth())
    assert "x-pointillist-warning" not in ok.headers

    expired = seed_clinic(
        db, app.state.photo_store, "C", clinic_licence_expires=TODAY - timedelta(1)
    )
    for method, path in (
        ("GET", "/api/clients"),
        ("GET", "/api/auth/me"),
        ("GET", f"/api/clients/{world.a.ids['client_id']}"),  # 404: another clinic's
        ("GET", "/api/audit"),
        ("POST", "/api/clients"),  # 422: no body
    ):
        response = api.request(method, path, headers=expired.auth("front-desk"))
        warning = response.headers.get("x-pointillist-warning", "")
        assert "clinic licence expired" in warning, (method, path, response.status_code)
    me = api.get("/api/auth/me", headers=expired.auth()).json()
    assert "expired" in me["clinic_warning"]

    renewed = api.patch(
        "/api/clinic", json={"licence_expires_on": _day(365)}, headers=expired.auth()
    )
    assert renewed.status_code == 200
    assert "x-pointillist-warning" not in renewed.headers
    assert "x-pointillist-warning" not in api.get("/api/clients", headers=expired.auth()).headers
