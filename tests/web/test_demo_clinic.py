"""The demo clinic (``pointillist demo-clinic``) as seeded: its first client's first
session is done, so the handout's ink passport has a real entry."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from tests.reports.pdf_reading import text as pdf_text


def test_the_demo_records_a_completed_first_session_with_consent_and_a_stock_lot(app, api, db):
    from pointillist.store.integrity import consent_verified
    from pointillist.store.models import (
        Client,
        Consent,
        Consultation,
        Reminder,
        TreatmentPlan,
        TreatmentSession,
    )
    from pointillist.web.demo import demo_logins, demo_table, seed_demo_clinic

    state = app.state
    assert seed_demo_clinic(
        state.session_factory, state.photo_store, seal_key=state.integrity_key, preview=False
    )
    table = demo_table()
    [entry] = [c for c in table["clients"] if "first_session" in c]
    first = entry["first_session"]
    [sam] = [c for c in db.scalars(select(Client)) if c.name == entry["name"]]
    [done] = db.scalars(select(TreatmentSession).where(TreatmentSession.client_id == sam.id))
    assert done.status == "completed" and done.needle == first["needle"]
    assert date.today() - timedelta(days=14) <= done.scheduled_on < date.today()
    [bottle] = done.bottles
    [stocked] = [b for b in table["stock"] if b["lot"] == first["lot"]]
    assert (bottle.lot, bottle.brand, bottle.shade) == (
        stocked["lot"],
        stocked["brand"],
        stocked["shade"],
    )
    [consent] = db.scalars(select(Consent).where(Consent.client_id == sam.id))
    assert consent.signed_at is not None and consent.signed_at.date() <= done.scheduled_on
    assert consent_verified(state.integrity_key, consent) is True
    # The consultation and its plan are dated on the consultation day, before the session.
    [consulted] = db.scalars(select(Consultation).where(Consultation.client_id == sam.id))
    [plan] = db.scalars(select(TreatmentPlan).where(TreatmentPlan.client_id == sam.id))
    expected = date.today() - timedelta(days=int(entry["consulted_days_ago"]))
    assert consulted.created_at.date() == plan.created_at.date() == expected
    # Its aftercare and touch-up reminders are scheduled, as for any completed session.
    kinds = {r.kind for r in db.scalars(select(Reminder).where(Reminder.client_id == sam.id))}
    assert kinds == {"aftercare", "touch-up"}
    db.commit()

    practitioner = next(login for login in demo_logins() if login.role == "practitioner")
    signed_in = api.post(
        "/sign-in", data={"email": practitioner.email, "password": practitioner.password}
    )
    assert signed_in.status_code == 200
    handout = pdf_text(api.get(f"/clients/{sam.id}/handout.pdf").content)
    assert "No session recorded yet" not in handout
    assert stocked["lot"] in handout and stocked["brand"] in handout
    # The done session keeps its number in the plan; the later ones are still on it, to
    # be booked.
    assert "Session 1 (completed)" in handout
    assert "Session 2" in handout
    # Seeding again leaves the demo as it is.
    assert not seed_demo_clinic(
        state.session_factory, state.photo_store, seal_key=state.integrity_key, preview=False
    )
