import datetime as dt

HEAT = {"saunas", "swimming", "hot showers", "steam rooms"}


def test_heat_and_water_window_covers_the_whole_course(run):
    plan = run(fitzpatrick=2)
    window = next(w for w in plan.aftercare if set(w.avoid) >= HEAT)
    assert window.start == plan.sessions[0].date
    assert window.end == plan.sessions[-1].last_date + dt.timedelta(days=28)


def test_first_days_rules_follow_every_session(run):
    plan = run(fitzpatrick=2)
    for rule, days in (("keep-dry", 4), ("no-sweat", 5), ("no-shaving", 7)):
        windows = [w for w in plan.aftercare if rule in w.codes]
        assert [w.start for w in windows] == [s.date for s in plan.sessions]
        assert all((w.end - w.start).days == days for w in windows)


def test_windows_are_dated_and_ordered(run):
    plan = run(fitzpatrick=2)
    starts = [w.start for w in plan.aftercare]
    assert starts == sorted(starts)
    assert all(w.start <= w.end and w.avoid and w.advice for w in plan.aftercare)


def test_overlapping_windows_of_one_rule_merge(run):
    # Sessions a week apart: the 7-day no-shaving windows touch and become one.
    plan = run(fitzpatrick=2, request={"interval_days": 7})
    shaving = [w for w in plan.aftercare if "no-shaving" in w.codes]
    assert len(shaving) < len(plan.sessions)


def test_no_downtime_is_said(run):
    assert "No downtime" in run().downtime


def test_no_downtime_says_what_it_means_beside_the_restrictions(run):
    note = run().downtime
    assert "back to work" in note and "next day" in note
    assert "does not lift the aftercare" in note
    assert "the gym for 5 days after each session" in note
