"""A user of clinic A never reaches clinic B's records: every lookup says "not found"."""

import io

import pytest

from pointillist.store import accounts, clinic, export, records, sessions
from pointillist.store.errors import NotFound
from pointillist.store.models import Consultation, Photo, Simulation, TreatmentPlan
from tests.store.conftest import SEAL_KEY, TODAY
from tests.store.test_export_erase import _full_record


@pytest.fixture
def b_records(db, clinic_b, photo_store):
    b = clinic_b
    booked = _full_record(db, b, photo_store)
    user = clinic.create_user(
        db,
        b.owner,
        email="owner@beta.example",
        name="B Owner",
        role="owner",
        password="long enough pass",
    )
    _token, token = accounts.issue_token(db, b.owner, user.id, "script")
    db.commit()
    first = {
        model: records.list_for_client(db, b.owner, model, b.client.id)[0].id
        for model in (Consultation, Photo, Simulation, TreatmentPlan)
    }
    consent = records.list_for_client(db, b.owner, records.Consent, b.client.id)[0]
    reminder = sessions.due_reminders(db, b.owner)[0]
    return {
        "session": booked.id,
        "user": user.id,
        "token": token.id,
        "consent": consent.id,
        "reminder": reminder.id,
        **{model.__name__: row_id for model, row_id in first.items()},
    }


def test_clinic_a_cannot_reach_any_record_of_clinic_b(
    db, clinic_a, clinic_b, b_records, photo_store
):
    a, b, ids = clinic_a.owner, clinic_b, b_records
    attempts = {
        "get client": lambda: records.get_client(db, a, b.client.id),
        "update client": lambda: records.update_client(db, a, b.client.id, name="Mine now"),
        "list client's consents": lambda: records.list_for_client(
            db, a, records.Consent, b.client.id
        ),
        "get consultation": lambda: records.get_clinical(db, a, Consultation, ids["Consultation"]),
        "get plan": lambda: records.get_clinical(db, a, TreatmentPlan, ids["TreatmentPlan"]),
        "get photo": lambda: records.get_clinical(db, a, Photo, ids["Photo"]),
        "get simulation": lambda: records.get_clinical(db, a, Simulation, ids["Simulation"]),
        "photo marketing flag": lambda: records.set_photo_marketing_consent(
            db, a, ids["Photo"], True
        ),
        "add photo to B client": lambda: records.add_photo(
            db, a, photo_store, b.client.id, b"", kind="top"
        ),
        "get consent": lambda: records.get_consent(db, a, ids["consent"]),
        "sign B consent": lambda: records.sign_consent(
            db, a, ids["consent"], signer_name="x", signer_ip=None, seal_key=SEAL_KEY
        ),
        "prepare with B template": lambda: records.prepare_consent(
            db, a, clinic_a.client.id, template_id=b.treatment_template_id
        ),
        "get session": lambda: sessions.get_session(db, a, ids["session"]),
        "complete B session": lambda: sessions.complete_session(db, a, ids["session"]),
        "book B practitioner": lambda: sessions.book_session(
            db, a, clinic_a.client.id, practitioner_id=b.practitioner.id, scheduled_on=TODAY
        ),
        "book B client": lambda: sessions.book_session(
            db, a, b.client.id, practitioner_id=clinic_a.practitioner.id, scheduled_on=TODAY
        ),
        "get B bottle": lambda: sessions.get_bottle(db, a, b.bottle.id),
        "mark B reminder": lambda: sessions.mark_reminder_sent(db, a, ids["reminder"]),
        "get practitioner": lambda: clinic.get_practitioner(db, a, b.practitioner.id),
        "update practitioner": lambda: clinic.update_practitioner(
            db, a, b.practitioner.id, name="x"
        ),
        "get user": lambda: clinic.get_user(db, a, ids["user"]),
        "reset B password": lambda: clinic.set_password(db, a, ids["user"], "a new long password"),
        "token for B user": lambda: accounts.issue_token(db, a, ids["user"], "x"),
        "revoke B token": lambda: accounts.revoke_token(db, a, ids["token"]),
        "export B client": lambda: export.export_client(
            db, a, photo_store, b.client.id, io.BytesIO()
        ),
        "erase B client": lambda: export.erase_client(db, a, photo_store, b.client.id),
    }
    leaked = []
    for name, attempt in attempts.items():
        try:
            attempt()
        except NotFound:
            continue
        except Exception as exc:
            leaked.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            leaked.append(f"{name}: succeeded")
        db.rollback()
    assert leaked == []


def test_lists_show_only_the_callers_clinic(db, clinic_a, clinic_b, b_records):
    a = clinic_a.owner
    assert [c.id for c in records.list_clients(db, a)] == [clinic_a.client.id]
    assert [c.id for c in records.list_clients(db, a, search="client")] == [clinic_a.client.id]
    assert [p.id for p in clinic.list_practitioners(db, a)] == [clinic_a.practitioner.id]
    assert [x.id for x in sessions.list_bottles(db, a)] == [clinic_a.bottle.id]
    assert sessions.list_sessions(db, a) == []
    assert sessions.due_reminders(db, a) == []
    assert clinic.list_users(db, a) == []
    assert accounts.list_tokens(db, a) == []
    assert {t.clinic_id for t in records.consent_templates(db, a)} == {clinic_a.clinic.id}


def test_front_desk_sees_bookings_and_paperwork_but_no_health_data(db, clinic_a, photo_store):
    from pointillist.store.errors import PermissionDenied
    from pointillist.store.models import Reminder, TreatmentSession

    booked = _full_record(db, clinic_a, photo_store)
    desk, client_id = clinic_a.front_desk, clinic_a.client.id
    assert [s.id for s in records.list_for_client(db, desk, TreatmentSession, client_id)] == [
        booked.id
    ]
    assert len(records.list_for_client(db, desk, Reminder, client_id)) == 3
    assert len(records.list_for_client(db, desk, records.Consent, client_id)) == 1
    for model in (Consultation, Photo, Simulation, TreatmentPlan):
        with pytest.raises(PermissionDenied, match="clinical"):
            records.list_for_client(db, desk, model, client_id)
    first_photo = records.list_for_client(db, clinic_a.owner, Photo, client_id)[0]
    with pytest.raises(PermissionDenied):
        records.get_clinical(db, desk, Photo, first_photo.id)
    with pytest.raises(PermissionDenied):
        records.update_client(db, desk, client_id, notes="allergic to nickel")
    records.update_client(db, desk, client_id, phone="+31 20 555 0100")
