"""The app's pages without a browser: what the forms accept and refuse, and who may see
what. (The browser tests in tests/web/e2e drive the same pages in Chromium.)"""

from __future__ import annotations

import base64
import io

from PIL import Image
from tests.web.conftest import PASSWORD, png_bytes


def sign_in(api, email: str) -> str:
    response = api.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return api.cookies["pointillist_csrf"]


def signature(ink: bool) -> str:
    image = Image.new("RGB", (600, 200), "white")
    if ink:
        for x in range(100, 500):
            for dy in range(3):
                image.putpixel((x, 100 + dy + (x // 40) % 5), (10, 10, 10))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def test_a_consent_needs_a_drawn_signature_or_typed_only_and_then_never_changes(api, world):
    csrf = sign_in(api, world.a.emails["front-desk"])
    client, consent = world.a.ids["client_id"], world.a.ids["consent_id"]
    url = f"/clients/{client}/consents/{consent}/sign"
    form = {"csrf_token": csrf, "signer_name": "Client A", "read": "yes"}

    blank = api.post(url, data={**form, "signature": signature(ink=False)})
    assert blank.status_code == 422 and "almost) empty" in blank.text
    assert 'value="Client A"' in blank.text  # the name typed is kept
    forged = api.post(url, data={**form, "signature": "data:text/html;base64,PGI+"})
    assert forged.status_code == 422 and "did not come as a PNG" in forged.text

    drawn = signature(ink=True)
    signed = api.post(url, data={**form, "signature": drawn}, follow_redirects=False)
    assert signed.status_code == 303
    page = api.get(f"/clients/{client}/consents/{consent}")
    assert "<dt>Seal</dt><dd>verified" in page.text
    image = api.get(f"/clients/{client}/consents/{consent}/signature.png")
    assert image.headers["content-type"] == "image/png"
    assert image.content == base64.b64decode(drawn.split(",", 1)[1])
    # The drawing is kept verbatim in the sealed consent, as the API signs it.
    kept = api.get(f"/api/consents/{consent}", headers=world.a.auth()).json()
    assert kept["drawn_signature"] == drawn and kept["verified"] is True

    again = api.post(url, data={**form, "typed_only": "yes"})
    assert again.status_code == 409 and "cannot be changed" in again.text


def test_the_wizard_keeps_a_consultation_and_refuses_what_the_domain_refuses(api, world):
    csrf = sign_in(api, world.a.emails["practitioner"])
    url = f"/clients/{world.a.ids['client_id']}/consultation"
    answers = {"csrf_token": csrf, "pattern": "norwood-4", "sex": "male", "age": "44"}
    too_old = api.post(url, data={**answers, "age": "200", "step": "0", "go": "next"})
    assert too_old.status_code == 422 and "out of range" in too_old.text
    assert 'value="norwood-4" checked' in too_old.text

    done = api.post(
        url,
        data={**answers, "fitzpatrick": "3", "step": "2", "go": "run", "sessions": "4"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    verdict = api.get(done.headers["location"])
    assert verdict.status_code == 200 and "Screening verdict" in verdict.text
    kept = api.get(
        f"/api/clients/{world.a.ids['client_id']}/consultations", headers=world.a.auth()
    ).json()
    # Kept as the domain read them: numbers, not the form's text.
    assert kept[-1]["answers"] == {
        "pattern": "norwood-4",
        "sex": "male",
        "age": 44,
        "fitzpatrick": 3,
        "conditions": [],
    }


def test_a_photo_that_is_not_one_is_refused_on_the_page_keeping_the_choices(api, world):
    csrf = sign_in(api, world.a.emails["practitioner"])
    url = f"/clients/{world.a.ids['client_id']}/photos"
    fields = {"csrf_token": csrf, "kind": "back", "marketing_consent": "yes"}
    bad = api.post(url, data=fields, files={"file": ("x.jpg", b"not an image", "image/jpeg")})
    assert bad.status_code == 422
    assert 'value="back" checked' in bad.text and 'value="yes" checked' in bad.text
    good = api.post(
        url,
        data=fields,
        files={"file": ("x.png", png_bytes(), "image/png")},
        follow_redirects=False,
    )
    assert good.status_code == 303
    photos = api.get(url.replace("/clients/", "/api/clients/"), headers=world.a.auth()).json()
    assert (photos[-1]["kind"], photos[-1]["marketing_consent"]) == ("back", True)


def test_front_desk_gets_403_pages_for_health_data_and_no_health_links(api, world):
    sign_in(api, world.a.emails["front-desk"])
    client = world.a.ids["client_id"]
    page = api.get(f"/clients/{client}")
    assert page.status_code == 200 and "keloid?" not in page.text  # the clinical notes
    assert f"/clients/{client}/photos" not in page.text
    for path in ("consultation", "photos", "plan", f"photos/{world.a.ids['photo_id']}/preview"):
        refused = api.get(f"/clients/{client}/{path}")
        assert refused.status_code == 403, path
        assert "front-desk user cannot" in refused.text


def test_the_editor_answers_json_errors_to_its_script(api, world):
    csrf = sign_in(api, world.a.emails["practitioner"])
    client, photo = world.a.ids["client_id"], world.a.ids["photo_id"]
    expired = api.post(
        f"/clients/{client}/photos/{photo}/preview/render",
        json={
            "editor": "gone",
            "height_cm": 8,
            "transition_band_mm": 15,
            "years": 0,
            "density": 1,
            "sessions": 4,
            "session": 4,
        },
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert expired.status_code == 400
    assert "reload the page" in expired.json()["detail"]
