"""ICS round trip: what we write parses back to the plan's sessions and windows."""

import datetime as dt

from icalendar import Calendar

from pointillist.reports.ics import plan_to_ics


def events(plan, category):
    cal = Calendar.from_ical(plan_to_ics(plan))
    return [e for e in cal.walk("VEVENT") if str(e.get("categories").cats[0]) == category]


def test_one_event_per_session_with_its_duration(run):
    plan = run(fitzpatrick=2)
    sessions = events(plan, "SMP session")
    assert len(sessions) == len(plan.sessions) == 4
    for event, session in zip(sessions, plan.sessions, strict=True):
        start = event.decoded("dtstart")
        assert start.date() == session.date
        assert event.decoded("duration") == dt.timedelta(minutes=session.duration_minutes)
        assert f"session {session.number}" in str(event.get("summary"))
        assert "impressions/cm² after this session" in str(event.get("description"))


def test_split_sessions_get_one_event_per_day(run):
    plan = run(pattern="norwood-7", head_circumference_cm=62.0, fitzpatrick=2)
    assert any(len(s.days) > 1 for s in plan.sessions)
    sessions = events(plan, "SMP session")
    assert len(sessions) == sum(len(s.days) for s in plan.sessions)
    total = sum((e.decoded("duration") for e in sessions), dt.timedelta())
    assert total == dt.timedelta(minutes=sum(s.duration_minutes for s in plan.sessions))


def test_one_all_day_event_per_aftercare_window(run):
    plan = run(fitzpatrick=2)
    windows = events(plan, "SMP aftercare")
    assert len(windows) == len(plan.aftercare)
    for event, window in zip(windows, plan.aftercare, strict=True):
        assert event.decoded("dtstart") == window.start
        # RFC 5545: DTEND of an all-day event is exclusive.
        assert event.decoded("dtend") == window.end + dt.timedelta(days=1)
        for item in window.avoid:
            assert item in str(event.get("summary"))


def test_touch_up_reminder_and_stable_uids(run):
    plan = run(fitzpatrick=2)
    assert events(plan, "SMP touch-up")[0].decoded("dtstart") == plan.touch_up_date
    first = [str(e["uid"]) for e in Calendar.from_ical(plan_to_ics(plan)).walk("VEVENT")]
    again = [str(e["uid"]) for e in Calendar.from_ical(plan_to_ics(plan)).walk("VEVENT")]
    assert first == again and len(set(first)) == len(first)


def test_declined_plan_has_no_events(run):
    plan = run(conditions=["keloid-history"])
    assert Calendar.from_ical(plan_to_ics(plan)).walk("VEVENT") == []


def test_a_test_patch_is_its_own_event_before_the_sessions(run):
    plan = run(fitzpatrick=6)
    (patch,) = events(plan, "SMP test patch")
    assert patch.decoded("dtstart").date() == plan.test_patch.date
    assert patch.decoded("duration") == dt.timedelta(minutes=plan.test_patch.minutes)
    assert str(plan.test_patch.healing_check_date) in str(patch.get("description"))
    assert all(
        s.decoded("dtstart").date() > plan.test_patch.date for s in events(plan, "SMP session")
    )
    assert events(run(fitzpatrick=2), "SMP test patch") == []
