"""Every endpoint that names a record answers 404 to another clinic's user.

The route table below must list every route of the OpenAPI schema that has a path
parameter (the first test fails when a route is added without an entry). For each route,
clinic A's owner asks for clinic B's record: 404, with nothing changed. Then clinic B's
owner makes the same request: it succeeds, which shows the 404 came from the clinic
scope and not from a broken request. Ids inside request bodies are checked the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.web.conftest import ClinicWorld, png_bytes

Body = Callable[[ClinicWorld], dict[str, Any]]


def _none(_: ClinicWorld) -> dict[str, Any]:
    return {}


def _json(payload: dict[str, Any] | Callable[[ClinicWorld], dict[str, Any]]) -> Body:
    return lambda w: {"json": payload(w) if callable(payload) else payload}


def _photo_upload(_: ClinicWorld) -> dict[str, Any]:
    return {"files": {"file": ("top.png", png_bytes(), "image/png")}, "data": {"kind": "top"}}


def _simulation_upload(_: ClinicWorld) -> dict[str, Any]:
    return {"data": {"parameters": '{"density": 0.5}'}}


# (method, path, request extras). Order matters for clinic B's own, successful requests:
# the consent is signed and a bottle recorded before the session is completed; the
# client is erased last.
ROUTES: list[tuple[str, str, Body]] = [
    ("DELETE", "/api/auth/tokens/{token_id}", _none),
    ("GET", "/api/users/{user_id}", _none),
    ("PATCH", "/api/users/{user_id}", _json({"name": "Renamed"})),
    ("PUT", "/api/users/{user_id}/password", _json({"password": "another long password"})),
    ("GET", "/api/practitioners/{practitioner_id}", _none),
    ("PATCH", "/api/practitioners/{practitioner_id}", _json({"experience_tier": "standard"})),
    ("GET", "/api/clients/{client_id}", _none),
    ("PATCH", "/api/clients/{client_id}", _json({"phone": "+31 20 555 0100"})),
    ("GET", "/api/clients/{client_id}/export", _none),
    (
        "POST",
        "/api/clients/{client_id}/consultations",
        _json({"answers": {"pattern": "norwood-3", "fitzpatrick": 3}}),
    ),
    ("GET", "/api/clients/{client_id}/consultations", _none),
    ("GET", "/api/consultations/{consultation_id}", _none),
    ("GET", "/api/clients/{client_id}/plans", _none),
    ("GET", "/api/plans/{plan_id}", _none),
    ("GET", "/api/consent-templates/{template_id}", _none),
    (
        "POST",
        "/api/clients/{client_id}/consents",
        _json(lambda w: {"template_id": w.ids["template_id"]}),
    ),
    ("GET", "/api/clients/{client_id}/consents", _none),
    ("GET", "/api/consents/{consent_id}", _none),
    ("POST", "/api/consents/{consent_id}/sign", _json({"signer_name": "The Client"})),
    ("POST", "/api/clients/{client_id}/photos", _photo_upload),
    ("GET", "/api/clients/{client_id}/photos", _none),
    ("GET", "/api/photos/{photo_id}", _none),
    ("GET", "/api/photos/{photo_id}/file", _none),
    ("PATCH", "/api/photos/{photo_id}", _json({"marketing_consent": True})),
    ("POST", "/api/clients/{client_id}/simulations", _simulation_upload),
    ("GET", "/api/clients/{client_id}/simulations", _none),
    ("GET", "/api/simulations/{simulation_id}", _none),
    ("GET", "/api/simulations/{simulation_id}/outputs/{name}", _none),
    ("GET", "/api/sessions/{session_id}", _none),
    ("PATCH", "/api/sessions/{session_id}", _json({"needle": "1RL 0.25 mm", "zones": ["crown"]})),
    (
        "POST",
        "/api/sessions/{session_id}/bottles",
        _json(lambda w: {"bottle_ids": [w.ids["bottle_id"]]}),
    ),
    ("POST", "/api/sessions/{session_id}/complete", _none),
    ("POST", "/api/sessions/{session_2_id}/cancel", _none),
    (
        "POST",
        "/api/sessions/book-plan/{plan_id}",
        _json(lambda w: {"practitioner_id": w.ids["practitioner_id"], "start_time": "10:00"}),
    ),
    ("GET", "/api/bottles/{bottle_id}", _none),
    ("GET", "/api/lots/{lot}/recall", _none),
    ("GET", "/api/reminders/{reminder_id}", _none),
    ("POST", "/api/reminders/{reminder_id}/sent", _none),
    ("DELETE", "/api/clients/{client_id}", _none),
]


def _schema_path(path: str) -> str:
    # The second session of a clinic is addressed through the same route.
    return path.replace("{session_2_id}", "{session_id}")


def _fill(path: str, world: ClinicWorld) -> str:
    values = {**world.ids, "lot": world.lot, "name": world.output_name}
    return path.format(**values)


def test_the_route_table_covers_every_route_with_a_path_parameter(app):
    schema = app.openapi()
    with_ids = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if "{" in path
        for method in operations
    }
    listed = {(method, _schema_path(path)) for method, path, _ in ROUTES}
    assert listed == with_ids


def test_another_clinics_records_are_404_on_every_route(api, world):
    for method, path, extras in ROUTES:
        foreign = _fill(path, world.b)
        response = api.request(method, foreign, headers=world.a.auth(), **extras(world.a))
        assert response.status_code == 404, (method, foreign, response.text)
        assert "in " in response.json()["detail"], response.text

    for method, path, extras in ROUTES:
        own = _fill(path, world.b)
        response = api.request(method, own, headers=world.b.auth(), **extras(world.b))
        assert response.status_code in (200, 201, 204), (method, own, response.text)


# Ids of another clinic inside a request body: (method, path of A, body naming B's id).
BODY_IDS: list[
    tuple[str, Callable[[ClinicWorld], str], Callable[[ClinicWorld, ClinicWorld], dict]]
] = [
    (
        "POST",
        lambda a: "/api/sessions",
        lambda a, b: {
            "client_id": b.ids["client_id"],
            "practitioner_id": a.ids["practitioner_id"],
            "scheduled_on": "2030-01-01",
        },
    ),
    (
        "POST",
        lambda a: "/api/sessions",
        lambda a, b: {
            "client_id": a.ids["client_id"],
            "practitioner_id": b.ids["practitioner_id"],
            "scheduled_on": "2030-01-01",
        },
    ),
    (
        "POST",
        lambda a: f"/api/sessions/{a.ids['session_id']}/bottles",
        lambda a, b: {"bottle_ids": [b.ids["bottle_id"]]},
    ),
    (
        "POST",
        lambda a: f"/api/clients/{a.ids['client_id']}/consents",
        lambda a, b: {"template_id": b.ids["template_id"]},
    ),
    (
        "POST",
        lambda a: "/api/reminders",
        lambda a, b: {
            "client_id": b.ids["client_id"],
            "kind": "touch-up",
            "due_on": "2030-01-01",
            "message": "Touch-up due",
        },
    ),
    (
        "POST",
        lambda a: f"/api/clients/{a.ids['client_id']}/consultations",
        lambda a, b: {
            "answers": {"pattern": "norwood-3"},
            "practitioner_id": b.ids["practitioner_id"],
        },
    ),
    (
        "POST",
        lambda a: "/api/auth/tokens",
        lambda a, b: {"name": "x", "user_id": b.ids["owner_id"]},
    ),
    (
        "POST",
        lambda a: "/api/practitioners",
        lambda a, b: {"name": "New", "user_id": b.ids["user_id"]},
    ),
]


@pytest.mark.parametrize("index", range(len(BODY_IDS)))
def test_another_clinics_ids_in_a_body_are_404(api, world, index):
    method, path, body = BODY_IDS[index]
    response = api.request(
        method, path(world.a), headers=world.a.auth(), json=body(world.a, world.b)
    )
    assert response.status_code == 404, response.text


def test_lists_show_only_the_callers_clinic(api, world):
    for path in (
        "/api/clients",
        "/api/sessions",
        "/api/bottles",
        "/api/practitioners",
        "/api/users",
    ):
        rows = api.get(path, headers=world.a.auth()).json()
        assert rows, path
        own = {world.a.ids[key] for key in world.a.ids}
        assert all(row["id"] in own for row in rows), path
    reminders = api.get("/api/reminders", headers=world.a.auth()).json()
    assert [r["client_id"] for r in reminders] == [world.a.ids["client_id"]]
    audit = api.get("/api/audit", headers=world.a.auth()).json()
    assert audit and all(e["actor"] != world.b.emails["owner"] for e in audit)


def test_ids_no_record_can_have_are_422_on_every_route(api, world):
    huge = {key: 2**40 for key in world.a.ids}
    for method, path, extras in ROUTES:
        if "{lot}" in path:
            continue
        url = path.format(**huge, name="x.png")
        response = api.request(method, url, headers=world.a.auth(), **extras(world.a))
        assert response.status_code == 422, (method, url, response.text)
    for method, path, body in BODY_IDS:
        payload = body(world.a, ClinicWorld(0, {}, {}, ids=huge))
        response = api.request(method, path(world.a), headers=world.a.auth(), json=payload)
        assert response.status_code == 422, (method, path(world.a), response.text)
