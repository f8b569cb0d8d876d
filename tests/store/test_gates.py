from datetime import date, timedelta

import pytest

from pointillist.store.clinic import clinic_licence_warning, update_practitioner
from pointillist.store.errors import GateClosed
from pointillist.store.records import record_signed_consent
from pointillist.store.sessions import (
    add_bottle,
    book_session,
    complete_session,
    record_bottles,
    reschedule_session,
)
from tests.store.conftest import SEAL_KEY, TODAY


def _book(db, w, on=None):
    return book_session(
        db,
        w.owner,
        w.client.id,
        practitioner_id=w.practitioner.id,
        scheduled_on=on or TODAY,
        zones=["crown"],
        needle="1RL 0.25 mm",
    )


def _sign(db, w):
    return record_signed_consent(
        db,
        w.owner,
        w.client.id,
        template_id=w.treatment_template_id,
        signer_name="C",
        signer_ip="10.0.0.1",
        seal_key=SEAL_KEY,
    )


def test_practitioner_with_expired_licence_cannot_be_booked(db, clinic_a):
    w = clinic_a
    expiry = w.practitioner.licence_expires_on
    assert _book(db, w, on=expiry).status == "planned"  # valid through its last day
    with pytest.raises(GateClosed, match="licence expired"):
        _book(db, w, on=expiry + timedelta(days=1))


def test_rescheduling_past_the_licence_is_refused(db, clinic_a):
    booked = _book(db, clinic_a)
    with pytest.raises(GateClosed, match="licence expired"):
        reschedule_session(
            db,
            clinic_a.owner,
            booked.id,
            scheduled_on=clinic_a.practitioner.licence_expires_on + timedelta(days=30),
        )


def test_practitioner_without_a_licence_cannot_be_booked(db, clinic_a):
    update_practitioner(db, clinic_a.owner, clinic_a.practitioner.id, licence_number=None)
    with pytest.raises(GateClosed, match="no licence recorded"):
        _book(db, clinic_a)


def test_expired_bottle_cannot_be_added_or_recorded(db, clinic_a):
    w = clinic_a
    with pytest.raises(GateClosed, match="expired"):
        add_bottle(
            db, w.owner, brand="B", shade="S", lot="L1", expires_on=TODAY - timedelta(days=1)
        )
    # In stock when bought, past its date on the day of the session.
    short = add_bottle(
        db, w.owner, brand="B", shade="S", lot="L2", expires_on=TODAY + timedelta(days=10)
    )
    later = _book(db, w, on=TODAY + timedelta(days=20))
    with pytest.raises(GateClosed, match="expired on"):
        record_bottles(db, w.owner, later.id, [short.id])
    assert later.bottles == []


def test_session_completes_only_with_signed_consent_and_a_lot(db, clinic_a):
    w = clinic_a
    booked = _book(db, w)
    with pytest.raises(GateClosed) as caught:
        complete_session(db, w.owner, booked.id)
    assert "consent" in str(caught.value) and "pigment lot" in str(caught.value)

    _sign(db, w)
    with pytest.raises(GateClosed, match="pigment lot"):
        complete_session(db, w.owner, booked.id)

    record_bottles(db, w.owner, booked.id, [w.bottle.id])
    with pytest.raises(GateClosed, match="completed on that day or later"):
        complete_session(db, w.owner, booked.id, today=TODAY - timedelta(days=1))
    done = complete_session(db, w.owner, booked.id)
    assert done.status == "completed" and done.completed_at is not None
    with pytest.raises(GateClosed, match="completed"):
        record_bottles(db, w.owner, booked.id, [w.bottle.id])


def test_unsigned_or_marketing_consent_does_not_open_the_gate(db, clinic_a):
    from pointillist.store.records import latest_template, prepare_consent

    w = clinic_a
    booked = _book(db, w)
    record_bottles(db, w.owner, booked.id, [w.bottle.id])
    prepare_consent(db, w.owner, w.client.id, template_id=w.treatment_template_id)  # unsigned
    marketing = latest_template(db, w.owner, "photo-marketing")
    record_signed_consent(
        db,
        w.owner,
        w.client.id,
        template_id=marketing.id,
        signer_name="C",
        signer_ip=None,
        seal_key=SEAL_KEY,
    )
    with pytest.raises(GateClosed, match="consent"):
        complete_session(db, w.owner, booked.id)


def test_front_desk_books_but_cannot_complete(db, clinic_a):
    from pointillist.store.errors import PermissionDenied

    w = clinic_a
    booked = book_session(
        db, w.front_desk, w.client.id, practitioner_id=w.practitioner.id, scheduled_on=TODAY
    )
    with pytest.raises(PermissionDenied, match="front-desk user cannot record or complete"):
        complete_session(db, w.front_desk, booked.id)


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        (date(2027, 6, 1), None),
        (date(2027, 1, 20), "expires on 2027-01-20 (in 19 days)"),
        (date(2026, 12, 31), "expired on 2026-12-31"),
    ],
)
def test_clinic_licence_warning(clinic_a, expires, expected):
    clinic_a.clinic.licence_expires_on = expires
    warning = clinic_licence_warning(clinic_a.clinic, today=date(2027, 1, 1))
    if expected is None:
        assert warning is None
    else:
        assert expected in warning


def test_clinic_without_licence_is_warned(clinic_a):
    clinic_a.clinic.licence_number = None
    clinic_a.clinic.licence_expires_on = None
    assert "no clinic licence" in clinic_licence_warning(clinic_a.clinic)


def test_completing_a_session_schedules_aftercare_and_one_touch_up(db, clinic_a):
    from pointillist.store.models import Reminder
    from pointillist.store.records import list_for_client

    w = clinic_a
    _sign(db, w)
    first = _book(db, w, on=TODAY - timedelta(days=14))
    second = _book(db, w, on=TODAY)
    for booked in (first, second):
        record_bottles(db, w.owner, booked.id, [w.bottle.id])
        complete_session(db, w.owner, booked.id)
    reminders = list_for_client(db, w.owner, Reminder, w.client.id)
    aftercare = [r for r in reminders if r.kind == "aftercare"]
    touch_ups = [r for r in reminders if r.kind == "touch-up"]
    assert [r.due_on for r in aftercare] == [TODAY - timedelta(days=13), TODAY + timedelta(days=1)]
    assert "avoid washing or wetting the scalp" in aftercare[0].message
    # Only the latest session's touch-up remains: about three years after it (plan.toml).
    assert len(touch_ups) == 1 and touch_ups[0].session_id == second.id
    assert abs((touch_ups[0].due_on - second.scheduled_on).days - 3 * 365) <= 1
