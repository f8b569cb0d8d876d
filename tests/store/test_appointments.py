"""Booking appointments: opening hours, clashes, licences, and a whole plan in one step."""

from datetime import time, timedelta

import pytest

from pointillist.domain import load_policy
from pointillist.store.clinic import opening_hours, update_clinic_settings, update_practitioner
from pointillist.store.errors import Conflict, GateClosed
from pointillist.store.models import TreatmentSession
from pointillist.store.records import add_plan, create_client
from pointillist.store.sessions import (
    book_plan,
    book_session,
    cancel_session,
    list_sessions,
    reschedule_session,
)
from tests.store.conftest import TODAY

# A Monday two to three weeks ahead: open under the packaged calendar (closed Sundays).
MONDAY = TODAY + timedelta(days=14 + (7 - TODAY.weekday()) % 7)


def _hours(w):
    return opening_hours(w.clinic, load_policy())


def _book(db, w, client, day, at, minutes, **kw):
    return book_session(
        db,
        w.owner,
        client.id,
        practitioner_id=w.practitioner.id,
        scheduled_on=day,
        start_time=at,
        duration_minutes=minutes,
        hours=_hours(w),
        **kw,
    )


def test_a_double_booking_is_refused_naming_the_clash(db, clinic_a):
    w = clinic_a
    first = _book(db, w, w.client, MONDAY, time(10, 0), 240)
    other = create_client(db, w.owner, name="Second Client")
    with pytest.raises(Conflict) as caught:
        _book(db, w, other, MONDAY, time(13, 0), 60)
    message = caught.value.message
    assert f"alpha Practitioner is already booked on {MONDAY.isoformat()} 10:00-14:00" in message
    assert f"session {first.id}, alpha Client" in message
    assert "overlaps 13:00-14:00" in message

    _book(db, w, other, MONDAY, time(14, 0), 60)  # right after: no clash
    cancel_session(db, w.owner, first.id)
    _book(db, w, other, MONDAY, time(10, 0), 60)  # a cancelled slot is free again


def test_closed_days_and_hours_are_honoured(db, clinic_a):
    w = clinic_a
    sunday = MONDAY - timedelta(days=1)
    with pytest.raises(GateClosed, match="closed on Sundays") as caught:
        _book(db, w, w.client, sunday, time(10, 0), 60)
    assert caught.value.field == "scheduled_on"
    with pytest.raises(GateClosed, match="after closing time"):
        _book(db, w, w.client, MONDAY, time(16, 0), 180)

    update_clinic_settings(
        db,
        w.owner,
        load_policy(),
        {"closed_weekdays": ["monday"], "closed_dates": [(MONDAY + timedelta(1)).isoformat()]},
    )
    with pytest.raises(GateClosed, match="closed on Mondays"):
        _book(db, w, w.client, MONDAY, time(10, 0), 60)
    with pytest.raises(GateClosed, match="a closed date"):
        _book(db, w, w.client, MONDAY + timedelta(1), time(10, 0), 60)
    _book(db, w, w.client, sunday, time(10, 0), 60)  # Sundays are open now


def test_an_expired_licence_cannot_be_booked(db, clinic_a):
    w = clinic_a
    update_practitioner(db, w.owner, w.practitioner.id, licence_expires_on=MONDAY - timedelta(1))
    with pytest.raises(GateClosed, match="licence expired on"):
        _book(db, w, w.client, MONDAY, time(10, 0), 60)


def test_rescheduling_onto_a_taken_slot_is_refused(db, clinic_a):
    w = clinic_a
    first = _book(db, w, w.client, MONDAY, time(9, 0), 120)
    second = _book(db, w, w.client, MONDAY, time(12, 0), 120)
    with pytest.raises(Conflict, match=f"session {first.id}"):
        reschedule_session(db, w.owner, second.id, start_time=time(10, 0), hours=_hours(w))
    moved = reschedule_session(db, w.owner, second.id, start_time=time(11, 30), hours=_hours(w))
    assert moved.start_time == time(11, 30)
    # Moving a session within its own slot is not a clash with itself.
    reschedule_session(db, w.owner, first.id, start_time=time(9, 30), hours=None)


def _plan(db, w, days):
    sessions = [
        {"number": n, "days": [{"date": d.isoformat(), "minutes": 270} for d in group]}
        for n, group in enumerate(days, start=1)
    ]
    snapshot = {"sessions": sessions, "area": {"zones": [{"key": "crown", "cm2": 40.0}]}}
    return add_plan(db, w.owner, w.client.id, snapshot=snapshot)


def test_a_whole_plan_is_booked_in_one_step(db, clinic_a):
    w = clinic_a
    weeks = [MONDAY + timedelta(weeks=k) for k in range(3)]
    plan = _plan(db, w, [[weeks[0]], [weeks[1], weeks[1] + timedelta(1)], [weeks[2]]])
    booked = book_plan(
        db,
        w.owner,
        plan.id,
        practitioner_id=w.practitioner.id,
        start_time=time(9, 30),
        hours=_hours(w),
    )
    assert [s.scheduled_on for s in booked] == [
        weeks[0],
        weeks[1],
        weeks[1] + timedelta(1),
        weeks[2],
    ]
    assert all(s.start_time == time(9, 30) and s.duration_minutes == 270 for s in booked)
    assert all(s.plan_id == plan.id and s.zones == ["crown"] for s in booked)


def test_a_plan_with_a_clash_books_nothing(db, clinic_a):
    w = clinic_a
    weeks = [MONDAY + timedelta(weeks=k) for k in range(2)]
    other = create_client(db, w.owner, name="Busy Client")
    _book(db, w, other, weeks[1], time(13, 0), 60)
    db.commit()
    plan = _plan(db, w, [[weeks[0]], [weeks[1]]])
    db.commit()
    with pytest.raises(Conflict) as caught:
        book_plan(
            db,
            w.owner,
            plan.id,
            practitioner_id=w.practitioner.id,
            start_time=time(10, 0),
            hours=_hours(w),
        )
    assert f"session 2 of the plan ({weeks[1].isoformat()}) cannot be booked" in str(caught.value)
    assert "Busy Client" in str(caught.value) and "nothing was booked" in str(caught.value)
    db.rollback()
    assert [s.client_id for s in list_sessions(db, w.owner)] == [other.id]


def test_a_plan_without_sessions_cannot_be_booked(db, clinic_a):
    w = clinic_a
    plan = add_plan(db, w.owner, w.client.id, snapshot={"sessions": [], "start_note": "review"})
    with pytest.raises(GateClosed, match=r"no sessions to book \(review\)"):
        book_plan(db, w.owner, plan.id, practitioner_id=w.practitioner.id, start_time=time(10))
    assert db.query(TreatmentSession).count() == 0
