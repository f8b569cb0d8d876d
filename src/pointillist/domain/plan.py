"""The session plan: how many impressions each session lays, how long it takes, and when.

Density is built in layers (``data/plan.toml`` [density]): after session k the scalp
carries a cumulative share of the final impressions per cm2; later sessions also re-work
a share of the dots already placed. Duration is set-up time plus impressions over the
practitioner's rate; a session longer than the clinic's maximum continues on the next
open day(s). Dates start from the requested start and skip the clinic's closed weekdays.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pointillist.errors import PointillistError

WEEKDAYS = tuple(name.lower() for name in calendar.day_name)


@dataclass(frozen=True)
class SessionDay:
    """One day of needling: a session over the clinic maximum has several."""

    date: dt.date
    minutes: int


@dataclass(frozen=True)
class PlannedSession:
    """One session of the course.

    ``impressions`` are laid in this session (new dots plus re-worked ones);
    ``cumulative_impressions`` and ``target_density_per_cm2`` are what the scalp carries
    once it is done.
    """

    number: int
    days: tuple[SessionDay, ...]
    impressions: int
    cumulative_impressions: int
    target_density_per_cm2: float

    @property
    def date(self) -> dt.date:
        return self.days[0].date

    @property
    def last_date(self) -> dt.date:
        return self.days[-1].date

    @property
    def duration_minutes(self) -> int:
        return sum(day.minutes for day in self.days)


@dataclass(frozen=True)
class TestPatch:
    """A few test impressions before the course, and the day their healing is checked."""

    date: dt.date
    minutes: int
    healing_check_date: dt.date


@dataclass(frozen=True)
class PlanSettings:
    """The plan numbers in force (defaults from ``data/plan.toml``, checked)."""

    session_count: int
    interval_days: int
    cumulative_fractions: tuple[float, ...]
    final_density_per_cm2: float
    rework_fraction: float
    setup_minutes: float
    impressions_per_minute: float
    max_session_minutes: float
    closed_weekdays: frozenset[int]
    closed_dates: frozenset[dt.date] = frozenset()


def plan_settings(
    table: Mapping[str, Any], *, sessions: int | None = None, interval_days: int | None = None
) -> PlanSettings:
    """Read the plan table, apply the requested session count and interval, and check them."""
    limits = table["sessions"]
    count = int(limits["default_count"]) if sessions is None else sessions
    if not int(limits["min_count"]) <= count <= int(limits["max_count"]):
        raise PointillistError(
            f"{count} sessions is outside the clinic's range; give "
            f"{limits['min_count']}-{limits['max_count']} (the article advises four)",
            field="sessions",
        )
    interval = int(table["interval"]["default_days"]) if interval_days is None else interval_days
    min_days = int(table["interval"]["min_days"])
    max_days = int(table["interval"].get("max_days", 90))
    if not min_days <= interval <= max_days:
        raise PointillistError(
            f"an interval of {interval} days is outside {min_days}-{max_days} days: sessions "
            f"need at least {min_days} days of healing between them",
            field="interval_days",
        )
    curves = table["density"]["cumulative_fraction"]
    if str(count) not in curves:
        raise PointillistError(f"the plan table has no density curve for {count} sessions")
    fractions = tuple(float(f) for f in curves[str(count)])
    _check_curve(count, fractions)
    duration = table["duration"]
    return PlanSettings(
        session_count=count,
        interval_days=interval,
        cumulative_fractions=fractions,
        final_density_per_cm2=float(table["density"]["final_per_cm2"]),
        rework_fraction=float(table["density"]["rework_fraction"]),
        setup_minutes=float(duration["setup_minutes"]),
        impressions_per_minute=float(duration["impressions_per_minute"]),
        max_session_minutes=float(duration["max_session_minutes"]),
        closed_weekdays=closed_weekdays_of(table["calendar"]["closed_weekdays"]),
        closed_dates=closed_dates_of(table["calendar"].get("closed_dates", [])),
    )


def book_test_patch(start: dt.date, settings: PlanSettings, table: Mapping[str, Any]) -> TestPatch:
    """A test patch on the first open day from ``start``; its healing check after
    ``[test_patch] healing_check_days`` (``data/plan.toml``), on an open day."""
    patch = table["test_patch"]
    day = next_open_day(start, settings)
    check = next_open_day(day + dt.timedelta(days=int(patch["healing_check_days"])), settings)
    return TestPatch(date=day, minutes=int(patch["minutes"]), healing_check_date=check)


def plan_sessions(
    area_cm2: float, start: dt.date, settings: PlanSettings
) -> tuple[PlannedSession, ...]:
    """Sessions for ``area_cm2`` of scalp, the first on or after ``start``.

    Each session starts at least ``interval_days`` after the last day of the one before,
    on an open day.
    """
    if area_cm2 <= 0:
        raise PointillistError("the treatment area is empty; nothing to plan")
    final = settings.final_density_per_cm2 * area_cm2
    sessions: list[PlannedSession] = []
    day = next_open_day(start, settings)
    placed = 0
    for number, fraction in enumerate(settings.cumulative_fractions, start=1):
        cumulative = round(final * fraction)
        impressions = cumulative - placed + round(placed * settings.rework_fraction)
        days = _session_days(impressions, day, settings)
        sessions.append(
            PlannedSession(
                number=number,
                days=days,
                impressions=impressions,
                cumulative_impressions=cumulative,
                target_density_per_cm2=round(settings.final_density_per_cm2 * fraction, 1),
            )
        )
        placed = cumulative
        day = next_open_day(days[-1].date + dt.timedelta(days=settings.interval_days), settings)
    return tuple(sessions)


def _session_days(
    impressions: int, first: dt.date, settings: PlanSettings
) -> tuple[SessionDay, ...]:
    needling = impressions / settings.impressions_per_minute
    per_day = settings.max_session_minutes - settings.setup_minutes
    # Every day of a split session has its own set-up (numbing, stencil, cleaning).
    count = max(1, math.ceil(needling / per_day))
    days = []
    day = first
    for index in range(count):
        if index:
            day = next_open_day(day + dt.timedelta(days=1), settings)
        minutes = settings.setup_minutes + needling / count
        days.append(SessionDay(day, math.ceil(minutes)))
    return tuple(days)


def next_open_day(day: dt.date, settings: PlanSettings) -> dt.date:
    """``day``, or the first day after it the clinic is open."""
    while day.weekday() in settings.closed_weekdays or day in settings.closed_dates:
        day += dt.timedelta(days=1)
    return day


def closed_dates_of(values: Sequence[Any]) -> frozenset[dt.date]:
    """The closed dates of a ``[calendar]`` table, checked."""
    dates = set()
    for value in values:
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise PointillistError(
                f"closed date {value!r} is not a date; write dates like 2026-12-25 (no quotes)"
            )
        dates.add(value)
    return frozenset(dates)


def closed_weekdays_of(names: Sequence[str]) -> frozenset[int]:
    """Weekday numbers (Monday is 0) from names in a ``[calendar]`` table, checked."""
    closed = set()
    for name in names:
        key = str(name).strip().lower()
        if key not in WEEKDAYS:
            raise PointillistError(
                f"closed weekday {name!r} is not a day of the week; use {', '.join(WEEKDAYS)}"
            )
        closed.add(WEEKDAYS.index(key))
    if len(closed) == len(WEEKDAYS):
        raise PointillistError("the clinic is closed every day of the week; open at least one")
    return frozenset(closed)


def _check_curve(count: int, fractions: tuple[float, ...]) -> None:
    ordered = all(a < b for a, b in itertools.pairwise(fractions))
    if len(fractions) != count or not ordered or fractions[0] <= 0 or fractions[-1] != 1.0:
        raise PointillistError(
            f"the density curve for {count} sessions must rise through {count} values to 1.0"
        )
