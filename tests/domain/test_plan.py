"""The session plan: properties over areas, counts and intervals, and the calibration."""

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointillist.domain.area import treatment_area
from pointillist.domain.client import client_from_mapping
from pointillist.domain.plan import plan_sessions, plan_settings
from pointillist.errors import PointillistError
from tests.domain.conftest import CONSULTATION

areas = st.floats(min_value=5.0, max_value=600.0, allow_nan=False)
starts = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2030, 12, 31))


@settings(max_examples=200, deadline=None)
@given(area=areas, start=starts, count=st.integers(3, 5), interval=st.integers(7, 90))
def test_plan_invariants(policy, area, start, count, interval):
    cfg = plan_settings(policy.plan, sessions=count, interval_days=interval)
    sessions = plan_sessions(area, start, cfg)
    assert [s.number for s in sessions] == list(range(1, count + 1))
    assert sessions[0].date >= start
    for before, after in itertools.pairwise(sessions):
        assert (after.date - before.last_date).days >= interval  # healing gap kept
    days = [d.date for s in sessions for d in s.days]
    assert days == sorted(days) and len(set(days)) == len(days)
    assert all(d.weekday() != 6 for d in days)  # the clinic is closed on Sundays
    assert all(d.minutes > 0 for s in sessions for d in s.days)
    assert all(d.minutes <= cfg.max_session_minutes for s in sessions for d in s.days)
    assert all(s.impressions > 0 for s in sessions)
    densities = [s.target_density_per_cm2 for s in sessions]
    assert densities == sorted(densities) and densities[-1] == cfg.final_density_per_cm2
    assert sessions[-1].cumulative_impressions == round(cfg.final_density_per_cm2 * area)


@settings(max_examples=100, deadline=None)
@given(a=areas, b=areas, start=starts)
def test_durations_do_not_decrease_with_area(policy, a, b, start):
    cfg = plan_settings(policy.plan)
    small, large = sorted((a, b))
    for s_small, s_large in zip(
        plan_sessions(small, start, cfg), plan_sessions(large, start, cfg), strict=True
    ):
        assert s_small.duration_minutes <= s_large.duration_minutes
        assert s_small.impressions <= s_large.impressions


def test_typical_norwood_6_sessions_last_four_to_five_hours(policy):
    area = treatment_area(client_from_mapping({"pattern": "norwood-6"}), policy.zones)
    sessions = plan_sessions(area.total_cm2, dt.date(2026, 12, 1), plan_settings(policy.plan))
    assert len(sessions) == 4  # the article: four sessions
    for session in sessions:
        assert len(session.days) == 1
        assert 240 <= session.duration_minutes <= 300


def test_smaller_areas_take_less_time(policy):
    cfg = plan_settings(policy.plan)
    n2 = treatment_area(client_from_mapping({"pattern": "norwood-2"}), policy.zones).total_cm2
    sessions = plan_sessions(n2, dt.date(2026, 12, 1), cfg)
    assert len(sessions) == 4  # four sessions however small the area
    assert all(s.duration_minutes < 120 for s in sessions)


def test_a_session_over_the_clinic_maximum_splits_over_consecutive_open_days(policy):
    cfg = plan_settings(policy.plan)
    sessions = plan_sessions(400.0, dt.date(2026, 12, 5), cfg)  # a Saturday
    first = sessions[0]
    assert len(first.days) >= 2
    assert first.days[0].date == dt.date(2026, 12, 5)
    assert first.days[1].date == dt.date(2026, 12, 7)  # Sunday is closed


def test_first_session_skips_closed_days(policy):
    sessions = plan_sessions(50.0, dt.date(2026, 12, 6), plan_settings(policy.plan))  # Sunday
    assert sessions[0].date == dt.date(2026, 12, 7)


def test_closed_dates_from_the_clinic_file_are_skipped(policy):
    table = dict(policy.plan)
    table["calendar"] = {"closed_weekdays": ["sunday"], "closed_dates": [dt.date(2026, 12, 25)]}
    sessions = plan_sessions(50.0, dt.date(2026, 12, 25), plan_settings(table))
    assert sessions[0].date == dt.date(2026, 12, 26)


def test_cumulative_density_defaults(policy):
    cfg = plan_settings(policy.plan)
    assert cfg.session_count == 4 and cfg.interval_days == 14
    assert cfg.cumulative_fractions[-1] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sessions": 2}, "sessions"),
        ({"sessions": 6}, "sessions"),
        ({"interval_days": 6}, "at least 7 days"),
    ],
)
def test_options_out_of_range_are_refused(policy, kwargs, message):
    with pytest.raises(PointillistError, match=message):
        plan_settings(policy.plan, **kwargs)


def test_start_before_consultation_is_refused(run):
    with pytest.raises(PointillistError, match="before the consultation"):
        run(request={"start": dt.date(2020, 1, 1)})


def test_touch_up_three_years_after_last_session(run):
    plan = run(fitzpatrick=2)
    last = plan.sessions[-1].last_date
    assert plan.touch_up_date.year == last.year + 3
    assert plan.touch_up_date.month == last.month


def test_a_caution_that_promises_a_test_area_books_a_test_patch_first(run, policy):
    # Fitzpatrick V: "we will start with a small test area and check how it heals".
    result = run(fitzpatrick=5)
    assert result.screening.outcome == "caution"
    patch = result.test_patch
    assert patch is not None and patch.date == CONSULTATION
    days = policy.plan["test_patch"]["healing_check_days"]
    assert patch.healing_check_date >= CONSULTATION + dt.timedelta(days=days)
    assert result.sessions[0].date >= patch.healing_check_date
    assert "Test patch" in result.start_note


def test_a_caution_without_a_test_area_books_no_test_patch(run):
    result = run(conditions=["acne-controlled"])
    assert result.screening.outcome == "caution"
    assert result.test_patch is None and result.sessions[0].date == CONSULTATION
