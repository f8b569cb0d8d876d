"""The handout from the client page: the PDF download and its page preview, for owners
(everything) and for front-desk staff (no health data), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from tests.reports.pdf_reading import images, pages
from tests.reports.pdf_reading import text as pdf_text
from tests.web.test_app_pages import sign_in


def pdf_images(data: bytes) -> int:
    return len(images(data))


@pytest.fixture
def treated(db, world):
    """Clinic A's client with a real plan (referred: anticoagulants) and a pigment lot
    recorded on the first booked session."""
    from pointillist.domain import PlanRequest, client_from_mapping, consult, load_policy
    from pointillist.reports.plan_json import plan_to_dict
    from pointillist.store import records, sessions
    from pointillist.store.models import User
    from pointillist.store.scope import Scope

    owner = Scope.for_user(db.get(User, world.a.ids["owner_id"]))
    plan = consult(
        client_from_mapping(
            {"pattern": "norwood-6", "fitzpatrick": 2, "conditions": ["anticoagulants"]}
        ),
        PlanRequest(date.today(), start=date.today() + timedelta(days=90)),
        load_policy(),
    )
    stored = records.add_plan(
        db,
        owner,
        world.a.ids["client_id"],
        snapshot=plan_to_dict(plan),
        consultation_id=world.a.ids["consultation_id"],
    )
    sessions.record_bottles(db, owner, world.a.ids["session_id"], [world.a.ids["bottle_id"]])
    db.commit()
    return SimpleNamespace(plan=plan, plan_id=stored.id)


def download(api, client_id: int, paper: str = "a4"):
    return api.get(f"/clients/{client_id}/handout.pdf", params={"paper": paper})


def test_the_owner_downloads_everything_the_client_keeps(api, db, world, treated):
    sign_in(api, world.a.emails["owner"])
    client = world.a.ids["client_id"]
    page = api.get(f"/clients/{client}")
    assert "Download handout (PDF)" in page.text
    assert f'action="/clients/{client}/handout.pdf"' in page.text

    response = download(api, client)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    text = pdf_text(response.content)
    assert "Clinic A" in text and "Licence LIC-A, City health department" in text
    assert "Prepared for Client A" in text
    # Screening in plain words, and whom to see.
    assert "Your screening" in text and "please see the professional named below" in text
    referral = next(f.refer_to for f in treated.plan.screening.findings if f.refer_to)
    assert referral in text
    # The booked sessions (today, in 30 days) and the plan's days not booked yet.
    today = date.today()
    assert f"{today:%a} {today.day} {today:%B %Y}" in text
    first = treated.plan.sessions[0].date
    assert f"{first:%a} {first.day} {first:%B %Y} to be booked Session 1" in text
    assert "No saunas, swimming, hot showers, steam rooms" in text
    assert treated.plan.quote is not None
    assert f"Total ${float(treated.plan.quote.total):,.2f}" in text
    assert f"Deposit to book ${float(treated.plan.quote.deposit):,.2f}" in text
    # The ink passport from the session's recorded bottle, and the saved preview.
    assert f"Brand Dark {world.a.lot}" in text
    assert world.b.lot not in text
    assert pdf_images(response.content) == 1

    letter = download(api, client, "letter")
    from pointillist.store.models import AuditEntry

    made = db.query(AuditEntry).filter_by(entity="handout", action="export").all()
    assert [(e.detail["client_id"], e.detail["paper"]) for e in made] == [
        (client, "a4"),
        (client, "letter"),
    ]
    sizes = {(round(p.width), round(p.height)) for p in pages(letter.content)}
    assert sizes == {(612, 792)}


def test_front_desk_gets_a_handout_without_health_data(api, world, treated):
    sign_in(api, world.a.emails["front-desk"])
    client = world.a.ids["client_id"]
    page = api.get(f"/clients/{client}")
    assert "Download handout (PDF)" in page.text
    assert "added when a practitioner prints it" in page.text

    response = download(api, client)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Clinic A" in text and world.a.lot in text
    assert "No saunas, swimming, hot showers, steam rooms" in text  # dated from bookings
    for clinical in ("Your screening", "Your quote", "Total", "Before and after", "keloid?"):
        assert clinical not in text
    referral = next(f.refer_to for f in treated.plan.screening.findings if f.refer_to)
    assert referral not in text
    assert pdf_images(response.content) == 0


def test_once_the_plan_is_booked_its_days_carry_the_booked_time(api, db, world, treated):
    from datetime import time

    from pointillist.domain import load_policy
    from pointillist.store import clinic, sessions
    from pointillist.store.models import User
    from pointillist.store.scope import Scope

    owner = Scope.for_user(db.get(User, world.a.ids["owner_id"]))
    hours = clinic.opening_hours(clinic.get_clinic(db, owner), load_policy())
    booked = sessions.book_plan(
        db,
        owner,
        treated.plan_id,
        practitioner_id=world.a.ids["practitioner_id"],
        start_time=time(10, 30),
        hours=hours,
    )
    db.commit()
    sign_in(api, world.a.emails["practitioner"])
    text = pdf_text(download(api, world.a.ids["client_id"]).content)
    assert "to be booked" not in text
    for appointment in booked:
        day = appointment.scheduled_on
        assert f"{day:%a} {day.day} {day:%B %Y} 10:30 Session" in text
    # The seed's own appointments have no time yet.
    assert f"{date.today():%a} {date.today().day} {date.today():%B %Y} time to be agreed" in text
    # The aftercare runs from the first booked session day (the seed's, today).
    today = date.today()
    assert "No saunas, swimming, hot showers, steam rooms" in text
    assert f"{today.day} {today:%B}" in text


def test_the_preview_page_is_the_same_document(api, world, treated):
    sign_in(api, world.a.emails["practitioner"])
    client = world.a.ids["client_id"]
    page = api.get(f"/clients/{client}/handout")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<link rel="stylesheet" href="/handout.css">' in page.text
    for heading in (
        "Your screening",
        "Your appointments",
        "Aftercare",
        "Your quote",
        "Ink passport",
    ):
        assert heading in page.text
    assert 'src="data:image/png;base64,' in page.text  # the saved preview, inline
    css = api.get("/handout.css")
    assert css.status_code == 200 and "@page" in css.text


def test_another_clinics_client_and_a_bad_paper_are_refused(api, world):
    sign_in(api, world.a.emails["owner"])
    assert download(api, world.b.ids["client_id"]).status_code == 404
    bad = download(api, world.a.ids["client_id"], "a5")
    assert bad.status_code == 422 and "paper" in bad.text


def test_signed_out_visitors_are_sent_to_sign_in(api, world):
    response = api.get(f"/clients/{world.a.ids['client_id']}/handout.pdf", follow_redirects=False)
    assert response.status_code == 303 and "/sign-in" in response.headers["location"]
