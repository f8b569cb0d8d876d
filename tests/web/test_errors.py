"""Error shapes, request limits, health and the OpenAPI schema."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from pointillist.web.limits import BodyLimitMiddleware


def test_healthz_needs_no_login_and_names_the_database(api, database_url):
    response = api.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == ("sqlite" if database_url.startswith("sqlite") else "postgresql")


def test_openapi_documents_every_route(api):
    schema = api.get("/openapi.json").json()
    assert schema["info"]["title"] == "pointillist records API"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert operation.get("description"), (method, path)
            if "{" in path and path != "/api/auth/tokens/{token_id}":
                assert "404" in operation["responses"], (method, path)
            if path.startswith("/api/") and path != "/api/auth/login":
                assert operation["security"] == [{"token": []}, {"session": []}], path
    assert set(schema["components"]["securitySchemes"]) == {"token", "session"}
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) and "upload_photo" in ids
    # The documented error shape is the one the API sends.
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    shape = response["content"]["application/json"]["schema"]["$ref"]
                    assert shape.endswith("/Problem"), (method, path, status)


def test_validation_errors_are_422_with_a_message_per_field(api, world):
    response = api.post(
        "/api/bottles",
        json={"brand": "", "shade": "Dark", "lot": "L1", "expires_on": "next year", "colour": 1},
        headers=world.a.auth(),
    )
    assert response.status_code == 422
    body = response.json()
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert set(fields) == {"brand", "expires_on", "colour"}
    assert "date" in fields["expires_on"].lower()
    assert "extra" in fields["colour"].lower() or "not permitted" in fields["colour"].lower()
    assert all(e["location"] == "body" for e in body["errors"])
    assert body["detail"].startswith("invalid request: ")

    email = api.post(
        "/api/clients", json={"name": "Sam", "email": "sam at example"}, headers=world.a.auth()
    )
    assert email.status_code == 422 and email.json()["errors"][0]["field"] == "email"
    # What an address looks like, not the regular expression that checks it.
    assert "looks like name@example.com" in email.json()["errors"][0]["message"]
    assert "^" not in email.json()["detail"]

    query = api.get("/api/clients?limit=0", headers=world.a.auth())
    assert query.status_code == 422
    assert query.json()["errors"][0] == {
        "field": "limit",
        "message": "Input should be greater than or equal to 1",
        "location": "query",
    }
    path = api.get("/api/clients/abc", headers=world.a.auth())
    assert path.status_code == 422 and path.json()["errors"][0]["field"] == "client_id"


def test_unknown_routes_and_methods_answer_json(api):
    missing = api.get("/api/nothing-here")
    assert (
        missing.status_code == 404
        and missing.json()["detail"] == "no such resource: /api/nothing-here"
    )
    wrong = api.put("/healthz")
    assert wrong.status_code == 405 and "PUT" in wrong.json()["detail"]


@pytest.fixture
def small_upload_app(settings, clean_database):
    from pointillist.web import create_app

    return create_app(settings.model_copy(update={"upload_max_bytes": 50_000}))


def test_an_upload_over_the_limit_is_413(small_upload_app, world):
    with TestClient(small_upload_app, base_url="https://testserver") as api:
        response = api.post(
            f"/api/clients/{world.a.ids['client_id']}/photos",
            files={"file": ("big.png", b"\x89PNG" + b"0" * 60_000, "image/png")},
            data={"kind": "top"},
            headers=world.a.auth(),
        )
        assert response.status_code == 413
        assert "larger than the 50000 bytes limit" in response.json()["detail"]
        assert response.headers["x-content-type-options"] == "nosniff"
        # JSON bodies have their own, small limit.
        json_body = api.post(
            "/api/clients",
            content=json.dumps({"name": "x" * 2_000_000}),
            headers={**world.a.auth(), "Content-Type": "application/json"},
        )
        assert json_body.status_code == 413


def _run_limited(chunks: int, chunk_size: int, limit: int, content_length: int | None):
    """Send a multipart body in chunks through the middleware; count what it read."""
    read = {"chunks": 0}
    sent: list[dict] = []

    async def body_reader(scope, receive, send):
        # Reads the whole body, as a form parser would.
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive():
        read["chunks"] += 1
        more = read["chunks"] < chunks
        return {"type": "http.request", "body": b"x" * chunk_size, "more_body": more}

    async def send(message):
        sent.append(message)

    headers = [(b"content-type", b"multipart/form-data; boundary=x")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "method": "POST", "path": "/upload", "headers": headers}
    middleware = BodyLimitMiddleware(body_reader, upload_limit=limit, json_limit=1000)
    asyncio.run(middleware(scope, receive, send))
    return read["chunks"], sent


def test_a_chunked_upload_is_cut_off_at_the_limit_without_reading_the_rest():
    read, sent = _run_limited(chunks=10_000, chunk_size=1024, limit=10 * 1024, content_length=None)
    assert sent[0]["status"] == 413
    assert read == 11  # ten chunks fit, the eleventh passes the limit; 9,989 never read
    assert "limit" in json.loads(sent[1]["body"])["detail"]


def test_a_declared_oversized_upload_is_refused_before_reading_it():
    read, sent = _run_limited(chunks=100, chunk_size=1024, limit=10 * 1024, content_length=102_400)
    assert sent[0]["status"] == 413 and read == 0


def test_an_upload_within_the_limit_passes_untouched():
    read, sent = _run_limited(chunks=10, chunk_size=1024, limit=10 * 1024, content_length=10_240)
    assert sent[0]["status"] == 200 and read == 10


def test_text_the_database_cannot_store_is_422_not_a_crash(api, world):
    nul = api.post("/api/clients", json={"name": "Sam\u0000"}, headers=world.a.auth())
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "name"
    answers = api.post(
        f"/api/clients/{world.a.ids['client_id']}/consultations",
        json={"answers": {"pattern": "norwood-3", "name": "a\u0000b"}},
        headers=world.a.auth(),
    )
    assert answers.status_code == 422 and answers.json()["errors"][0]["field"] == "answers"
    # Names are encrypted, so a search never reaches the database: a NUL finds nothing.
    search = api.get("/api/clients", params={"search": "a\u0000"}, headers=world.a.auth())
    assert search.status_code == 200 and search.json() == [], search.text
    assert api.get("/healthz").status_code == 200


MALFORMED: list[dict] = [
    {},
    {"json": {"x": 1}},
    {"json": []},
    {
        "json": {
            field: None
            for field in (
                "name",
                "role",
                "is_active",
                "marketing_consent",
                "scheduled_on",
                "notes",
                "zones",
                "needle",
                "email",
                "licence_number",
                "password",
                "answers",
            )
        }
    },
    {"content": b"\xff\xfe{", "headers": {"Content-Type": "application/json"}},
    {"data": {"kind": "top", "parameters": "[]"}, "files": {"file": ("a.png", b"", "image/png")}},
]


def test_no_malformed_request_is_a_server_error(app, world):
    """Every route, every method, a handful of wrong bodies: always a 4xx, never a 500."""
    values = {**world.a.ids, "lot": world.a.lot, "name": "preview.png"}
    failures = []
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as api:
        for path, operations in app.openapi()["paths"].items():
            for method in operations:
                if method == "delete" and path == "/api/clients/{client_id}":
                    continue  # erasure takes no body; it is tested on its own
                for extras in MALFORMED:
                    extras = dict(extras)
                    headers = {**world.a.auth(), **extras.pop("headers", {})}
                    url = path.format(**values)
                    response = api.request(method.upper(), url, headers=headers, **extras)
                    if response.status_code >= 500:
                        failures.append((method, url, extras, response.text))
    assert failures == []


def test_patch_refuses_null_for_fields_a_record_must_have(api, world):
    response = api.patch(
        f"/api/clients/{world.a.ids['client_id']}", json={"name": None}, headers=world.a.auth()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "name",
        "message": "cannot be null; leave the field out to keep its value",
        "location": "body",
    }
    cleared = api.patch(
        f"/api/clients/{world.a.ids['client_id']}", json={"phone": None}, headers=world.a.auth()
    )
    assert cleared.status_code == 200 and cleared.json()["phone"] is None


def test_healthz_is_503_when_the_database_cannot_be_reached(tmp_path):
    from pointillist.settings import Settings
    from pointillist.web import create_app

    settings = Settings(data=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as api:
        response = api.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
