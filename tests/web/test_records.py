"""Consultations, photos, export and erasure, and the audit log, through the API."""

from __future__ import annotations

import io
import json
import zipfile

from PIL import Image
from tests.web.conftest import png_bytes


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (80, 60), (170, 130, 110))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_consultation_returns_and_keeps_screening_plan_and_quote(api, world):
    ids, practitioner = world.a.ids, world.a.auth("practitioner")
    response = api.post(
        f"/api/clients/{ids['client_id']}/consultations",
        json={
            "answers": {"pattern": "norwood-5", "sex": "male", "age": 41, "fitzpatrick": 3},
            "consultation_date": "2026-03-02",
            "practitioner_id": ids["practitioner_id"],
        },
        headers=practitioner,
    )
    assert response.status_code == 201, response.text
    result = response.json()
    plan = result["plan"]["snapshot"]
    assert set(plan) >= {"screening", "area", "sessions", "aftercare", "quote", "touch_up_date"}
    assert plan["screening"]["outcome"] in {"proceed", "caution"}
    assert len(plan["sessions"]) >= 2
    assert plan["quote"]["total"] > 0
    consultation = result["consultation"]
    assert consultation["screening"] == plan["screening"]
    assert consultation["rules_version"] == plan["screening"]["rules_version"]
    assert consultation["answers"]["pattern"] == "norwood-5"
    assert result["plan"]["consultation_id"] == consultation["id"]

    kept = api.get(f"/api/plans/{result['plan']['id']}", headers=practitioner).json()
    assert kept["snapshot"] == plan
    listed = api.get(f"/api/clients/{ids['client_id']}/consultations", headers=practitioner)
    assert consultation["id"] in [c["id"] for c in listed.json()]


def test_a_declined_screening_is_kept_without_sessions_or_quote(api, world):
    response = api.post(
        f"/api/clients/{world.a.ids['client_id']}/consultations",
        json={"answers": {"pattern": "norwood-4", "conditions": ["keloid-history"]}},
        headers=world.a.auth(),
    )
    assert response.status_code == 201, response.text
    plan = response.json()["plan"]["snapshot"]
    assert plan["screening"]["outcome"] == "decline"
    assert plan["sessions"] == [] and plan["quote"] is None


def test_bad_answers_are_422_naming_the_field(api, world):
    response = api.post(
        f"/api/clients/{world.a.ids['client_id']}/consultations",
        json={"answers": {"pattern": "norwood-12"}},
        headers=world.a.auth(),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "pattern"
    assert "norwood-12" in body["detail"]


def test_photo_upload_strips_metadata_and_serves_the_image(api, world):
    ids = world.a.ids
    upload = api.post(
        f"/api/clients/{ids['client_id']}/photos",
        files={"file": ("front.jpg", _jpeg_with_exif(), "image/jpeg")},
        data={"kind": "front", "marketing_consent": "false"},
        headers=world.a.auth("practitioner"),
    )
    assert upload.status_code == 201, upload.text
    photo = upload.json()
    assert (photo["kind"], photo["width"], photo["height"]) == ("front", 80, 60)
    assert photo["marketing_consent"] is False
    served = api.get(f"/api/photos/{photo['id']}/file", headers=world.a.auth())
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in served.content
    assert not Image.open(io.BytesIO(served.content)).getexif()

    consented = api.patch(
        f"/api/photos/{photo['id']}", json={"marketing_consent": True}, headers=world.a.auth()
    )
    assert consented.json()["marketing_consent"] is True


def test_a_file_that_is_not_an_image_is_refused(api, world):
    response = api.post(
        f"/api/clients/{world.a.ids['client_id']}/photos",
        files={"file": ("notes.txt", b"this is not a photo", "text/plain")},
        data={"kind": "top"},
        headers=world.a.auth(),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"


def test_a_simulation_keeps_its_parameters_and_images(api, world):
    ids = world.a.ids
    created = api.post(
        f"/api/clients/{ids['client_id']}/simulations",
        data={
            "parameters": json.dumps({"density": 0.3, "session": 1}),
            "photo_id": ids["photo_id"],
        },
        files=[("outputs", ("session-1.png", png_bytes(colour=(60, 60, 60)), "image/png"))],
        headers=world.a.auth(),
    )
    assert created.status_code == 201, created.text
    simulation = created.json()
    assert simulation["parameters"] == {"density": 0.3, "session": 1}
    assert [o["name"] for o in simulation["outputs"]] == ["session-1.png"]
    image = api.get(
        f"/api/simulations/{simulation['id']}/outputs/session-1.png", headers=world.a.auth()
    )
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    missing = api.get(
        f"/api/simulations/{simulation['id']}/outputs/nope.png", headers=world.a.auth()
    )
    assert missing.status_code == 404
    bad = api.post(
        f"/api/clients/{ids['client_id']}/simulations",
        data={"parameters": "{not json"},
        headers=world.a.auth(),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "parameters"
    for name in ("../../etc/cron.d/x", ".hidden.png", "a b.png"):
        escaping = api.post(
            f"/api/clients/{ids['client_id']}/simulations",
            data={"parameters": "{}"},
            files=[("outputs", (name, png_bytes(), "image/png"))],
            headers=world.a.auth(),
        )
        assert escaping.status_code == 422, name
        assert escaping.json()["errors"][0]["field"] == "outputs"


def test_export_gives_one_zip_with_the_json_record_and_the_photos(api, world):
    ids = world.a.ids
    response = api.get(f"/api/clients/{ids['client_id']}/export", headers=world.a.auth())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert f"client-{ids['client_id']}.zip" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    record = json.loads(archive.read("client.json"))
    assert record["client"]["name"] == "Client A"
    assert [c["id"] for c in record["consents"]] == [ids["consent_id"]]
    assert {s["id"] for s in record["sessions"]} == {ids["session_id"], ids["session_2_id"]}
    photo_file = record["photos"][0]["file"]
    assert Image.open(io.BytesIO(archive.read(photo_file))).size == (64, 48)
    assert any(name.startswith("simulations/") for name in archive.namelist())
    # Nothing of clinic B's client in A's export.
    assert b"Client B" not in response.content

    logged = api.get(
        f"/api/audit?entity=client&entity_id={ids['client_id']}", headers=world.a.auth()
    )
    assert "export" in [e["action"] for e in logged.json()]


def test_erasure_removes_the_record_and_files_and_the_audit_log_keeps_only_the_fact(
    api, world, app
):
    ids, owner = world.a.ids, world.a.auth()
    store = app.state.photo_store
    photo = api.get(f"/api/photos/{ids['photo_id']}", headers=owner).json()
    photo_path = store.path_for(photo["sha256"], photo["media_type"])
    assert photo_path.is_file()
    b_files = len(store.files())

    erased = api.delete(f"/api/clients/{ids['client_id']}", headers=owner)
    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert report["deleted"]["clients"] == 1 and report["deleted"]["sessions"] == 2
    assert report["files_deleted_on_commit"] == 2
    assert report["within_retention"] is True

    for path in (
        f"/api/clients/{ids['client_id']}",
        f"/api/sessions/{ids['session_id']}",
        f"/api/consents/{ids['consent_id']}",
        f"/api/photos/{ids['photo_id']}",
        f"/api/plans/{ids['plan_id']}",
    ):
        assert api.get(path, headers=owner).status_code == 404, path
    assert not photo_path.exists()
    assert len(store.files()) == b_files - 2  # clinic B's files untouched
    assert (
        api.get(f"/api/clients/{world.b.ids['client_id']}", headers=world.b.auth()).status_code
        == 200
    )

    log = api.get("/api/audit", headers=owner).json()
    erasure = [e for e in log if e["action"] == "erase"]
    assert len(erasure) == 1 and erasure[0]["entity_id"] == ids["client_id"]
    assert "Client A" not in json.dumps(log) and "client@a.example" not in json.dumps(log)


def test_reads_and_changes_are_audited(api, world):
    ids = world.a.ids
    api.get(f"/api/clients/{ids['client_id']}", headers=world.a.auth("front-desk"))
    api.patch(
        f"/api/clients/{ids['client_id']}", json={"phone": "0612345678"}, headers=world.a.auth()
    )
    entries = api.get(
        f"/api/audit?entity=client&entity_id={ids['client_id']}", headers=world.a.auth()
    ).json()
    actions = [(e["action"], e["actor"]) for e in entries]
    assert ("read", world.a.emails["front-desk"]) in actions
    assert ("update", world.a.emails["owner"]) in actions
    update = next(e for e in entries if e["action"] == "update")
    assert update["detail"] == {"fields": ["phone"]}


def test_reminders_are_listed_and_marked_sent(api, world):
    ids, desk = world.a.ids, world.a.auth("front-desk")
    due = api.get("/api/reminders", headers=desk).json()
    assert [r["id"] for r in due] == [ids["reminder_id"]]
    sent = api.post(f"/api/reminders/{ids['reminder_id']}/sent", headers=desk)
    assert sent.status_code == 200 and sent.json()["sent_at"]
    assert api.get("/api/reminders", headers=desk).json() == []
    assert len(api.get("/api/reminders?include_sent=true", headers=desk).json()) == 1


def test_a_practitioner_tier_the_price_table_does_not_know_is_refused(api, world):
    created = api.post(
        "/api/practitioners",
        json={"name": "New", "experience_tier": "guru"},
        headers=world.a.auth(),
    )
    assert created.status_code == 422
    assert created.json()["errors"][0]["field"] == "experience_tier"
    assert "junior, standard, senior" in created.json()["detail"]
    changed = api.patch(
        f"/api/practitioners/{world.a.ids['practitioner_id']}",
        json={"experience_tier": "junior"},
        headers=world.a.auth(),
    )
    assert changed.status_code == 200 and changed.json()["experience_tier"] == "junior"
