"""Clinic opening hours and appointment clashes: when a session may be booked.

The clinic's calendar is the ``[plan.calendar]`` table (``data/plan.toml``, overridden by
the clinic file and the clinic's settings page): opening and closing time, closed
weekdays and closed dates. An appointment must start on an open day, at or after opening
time, and end by closing time. Two appointments of one practitioner may not overlap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pointillist.domain.plan import WEEKDAYS, closed_dates_of, closed_weekdays_of
from pointillist.errors import PointillistError


@dataclass(frozen=True)
class ClinicHours:
    """When the clinic is open: the same hours on every open day.

    Attributes
    ----------
    opening_time, closing_time
        Local wall-clock times; an appointment lies within them.
    closed_weekdays
        Weekday numbers (Monday is 0) the clinic is closed.
    closed_dates
        Holidays and other closed days.
    """

    opening_time: dt.time
    closing_time: dt.time
    closed_weekdays: frozenset[int]
    closed_dates: frozenset[dt.date] = frozenset()

    def is_open(self, day: dt.date) -> bool:
        """Whether the clinic opens on ``day``."""
        return day.weekday() not in self.closed_weekdays and day not in self.closed_dates

    @property
    def open_minutes(self) -> int:
        """Minutes between opening and closing."""
        return _minutes(self.closing_time) - _minutes(self.opening_time)


def parse_time(value: Any, what: str = "time") -> dt.time:
    """A wall-clock time from ``"09:30"`` (or a TOML local time); a clear error otherwise."""
    if isinstance(value, dt.time):
        return value
    text = str(value).strip()
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise PointillistError(
            f"{what} {text!r} is not a time of day; write it as HH:MM, e.g. 09:00"
        ) from None


def clinic_hours(calendar: Mapping[str, Any]) -> ClinicHours:
    """Read and check a ``[plan.calendar]`` table."""
    opening = parse_time(calendar.get("opening_time", "09:00"), "opening time")
    closing = parse_time(calendar.get("closing_time", "18:00"), "closing time")
    if closing <= opening:
        raise PointillistError(
            f"the clinic closes at {closing:%H:%M}, not after it opens at {opening:%H:%M}; "
            "give a closing time later than the opening time",
            field="closing_time",
        )
    return ClinicHours(
        opening_time=opening,
        closing_time=closing,
        closed_weekdays=closed_weekdays_of(calendar.get("closed_weekdays", [])),
        closed_dates=closed_dates_of(calendar.get("closed_dates", [])),
    )


def opening_problem(
    hours: ClinicHours, day: dt.date, start: dt.time | None, minutes: int | None
) -> str | None:
    """Why an appointment on ``day`` from ``start`` for ``minutes`` falls outside the clinic's
    hours, or None if it fits. With no start time only the day is checked."""
    if day in hours.closed_dates:
        return f"the clinic is closed on {day.isoformat()} (a closed date); choose another day"
    if day.weekday() in hours.closed_weekdays:
        return (
            f"the clinic is closed on {WEEKDAYS[day.weekday()].capitalize()}s "
            f"({day.isoformat()}); choose another day"
        )
    if start is None:
        return None
    if start < hours.opening_time or start >= hours.closing_time:
        return (
            f"{start:%H:%M} is outside opening hours ({hours.opening_time:%H:%M}-"
            f"{hours.closing_time:%H:%M}); choose a time within them"
        )
    end = _minutes(start) + (minutes or 0)
    if end > _minutes(hours.closing_time):
        return (
            f"a {minutes}-minute appointment from {start:%H:%M} ends at {_clock(end)}, after "
            f"closing time ({hours.closing_time:%H:%M}); start earlier or split the session"
        )
    return None


def occupied_minutes(
    start: dt.time | None, minutes: int | None, hours: ClinicHours | None = None
) -> tuple[int, int]:
    """The span ``[from, to)`` an appointment occupies on its day, in minutes after midnight.

    An appointment with no start time is taken to start at opening time, and one with no
    duration to last until closing time (or the end of the day): a booking made without
    them still blocks the practitioner rather than letting a clash through.
    """
    first = (
        _minutes(start)
        if start is not None
        else (_minutes(hours.opening_time) if hours is not None else 0)
    )
    if minutes is not None:
        return first, first + minutes
    last = _minutes(hours.closing_time) if hours is not None else 24 * 60
    return first, max(last, first + 1)


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two half-open spans of minutes share any minute."""
    return a[0] < b[1] and b[0] < a[1]


def span_text(span: tuple[int, int]) -> str:
    """``"10:00-14:51"`` for a span of minutes after midnight."""
    return f"{_clock(span[0])}-{_clock(span[1])}"


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def _clock(minutes: int) -> str:
    minutes = min(minutes, 24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
