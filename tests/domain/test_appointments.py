import datetime as dt

import pytest

from pointillist.domain.appointments import (
    clinic_hours,
    occupied_minutes,
    opening_problem,
    overlaps,
)
from pointillist.domain.policy import check_clinic_settings, load_policy, with_clinic_settings
from pointillist.errors import PointillistError

HOURS = clinic_hours(
    {
        "opening_time": "09:00",
        "closing_time": "18:00",
        "closed_weekdays": ["sunday"],
        "closed_dates": [dt.date(2026, 12, 25)],
    }
)
MONDAY = dt.date(2026, 12, 7)


def test_an_appointment_within_opening_hours_fits():
    assert opening_problem(HOURS, MONDAY, dt.time(9, 0), 540) is None
    assert opening_problem(HOURS, MONDAY, None, None) is None


@pytest.mark.parametrize(
    ("day", "start", "minutes", "words"),
    [
        (dt.date(2026, 12, 6), dt.time(10, 0), 60, "closed on Sundays"),
        (dt.date(2026, 12, 25), dt.time(10, 0), 60, "closed on 2026-12-25"),
        (MONDAY, dt.time(8, 30), 60, "08:30 is outside opening hours (09:00-18:00)"),
        (MONDAY, dt.time(15, 0), 240, "ends at 19:00, after closing time (18:00)"),
    ],
)
def test_closed_days_and_times_outside_the_hours_are_refused(day, start, minutes, words):
    assert words in (opening_problem(HOURS, day, start, minutes) or "")


def test_a_booking_without_a_time_or_duration_still_blocks_the_day():
    whole_day = occupied_minutes(None, None, HOURS)
    assert whole_day == (9 * 60, 18 * 60)
    assert overlaps(whole_day, occupied_minutes(dt.time(17, 0), 30, HOURS))
    assert not overlaps((600, 660), (660, 720))  # back to back is not a clash


def test_clinic_settings_override_the_served_policy():
    policy = with_clinic_settings(
        load_policy(), {"currency": "eur", "tax_rate": "0.21", "closing_time": "17:30"}
    )
    assert policy.pricing["currency"] == "EUR"
    assert policy.pricing["tax_rate"] == 0.21
    assert policy.plan["calendar"]["closing_time"] == "17:30"
    assert policy.plan["calendar"]["closed_weekdays"] == ["sunday"]  # untouched
    assert load_policy().pricing["currency"] == "USD"  # the served policy is not changed


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"curency": "EUR"}, "curency", "unknown clinic setting 'curency'"),
        ({"currency": "euro"}, "currency", "three-letter"),
        ({"tax_rate": 21}, "tax_rate", "between 0 and 1"),
        ({"base_fee": -1}, "base_fee", "at least 0"),
        ({"opening_time": "9h"}, None, "not a time of day"),
        ({"closed_weekdays": ["funday"]}, None, "not a day of the week"),
        ({"closed_dates": ["25/12/2026"]}, "closed_dates", "YYYY-MM-DD"),
    ],
)
def test_impossible_clinic_settings_are_refused_naming_the_field(settings, field, words):
    with pytest.raises(PointillistError, match=words) as caught:
        check_clinic_settings(settings)
    if field is not None:
        assert caught.value.field == field


def test_closing_before_opening_is_refused_whichever_side_changed():
    with pytest.raises(PointillistError, match="closes at 08:00, not after it opens at 09:00"):
        with_clinic_settings(load_policy(), {"closing_time": "08:00"})
