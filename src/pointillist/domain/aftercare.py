"""Aftercare: dated windows of what to avoid, from the plan's session dates.

Two kinds of restriction (``data/aftercare.toml``): some run through the whole course
(no saunas, swimming, hot showers or steam rooms until N days after the last session, the
source article's rule) and some follow every session (keep the scalp dry, no sweating,
no shaving). Windows of the same restriction that overlap are merged, and restrictions
sharing the same dates are shown as one window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pointillist.domain.plan import PlannedSession


@dataclass(frozen=True)
class AftercareWindow:
    """From ``start`` to ``end`` (both inclusive), avoid these things."""

    start: dt.date
    end: dt.date
    avoid: tuple[str, ...]
    advice: str
    codes: tuple[str, ...]


def downtime_note(table: Mapping[str, Any]) -> str:
    """What the client is told about downtime: none, and what that does not cover.

    "No downtime" stands beside days without the gym or the pool, so the note says what
    it means (back to work the next day) and that the aftercare restrictions still apply.
    """
    limits = [
        f"{', '.join(rule['avoid'])} for {int(rule['days'])} days after each session"
        for rule in table.get("after_each_session", [])
    ] + [
        f"{', '.join(rule['avoid'])} until {int(rule['days_after_last_session'])} days "
        "after the last session"
        for rule in table.get("course", [])
    ]
    note = str(table["downtime"])
    if limits:
        note += " That does not lift the aftercare: no " + "; no ".join(limits) + "."
    return note


def aftercare_windows(
    sessions: Sequence[PlannedSession], table: Mapping[str, Any]
) -> tuple[AftercareWindow, ...]:
    """Dated aftercare windows for ``sessions``, ordered by start date."""
    if not sessions:
        return ()
    spans: list[tuple[dt.date, dt.date, Mapping[str, Any]]] = []
    first, last = sessions[0].date, sessions[-1].last_date
    for rule in table.get("course", []):
        spans.append((first, last + dt.timedelta(days=int(rule["days_after_last_session"])), rule))
    for rule in table.get("after_each_session", []):
        per_session = [
            (s.date, s.last_date + dt.timedelta(days=int(rule["days"]))) for s in sessions
        ]
        spans.extend((start, end, rule) for start, end in _merge_overlaps(per_session))
    by_dates: dict[tuple[dt.date, dt.date], list[Mapping[str, Any]]] = {}
    for start, end, rule in spans:
        by_dates.setdefault((start, end), []).append(rule)
    return tuple(
        AftercareWindow(
            start=start,
            end=end,
            avoid=tuple(item for rule in rules for item in rule["avoid"]),
            advice=" ".join(str(rule["advice"]) for rule in rules),
            codes=tuple(str(rule["code"]) for rule in rules),
        )
        for (start, end), rules in sorted(by_dates.items(), key=lambda item: item[0])
    )


def _merge_overlaps(spans: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    merged: list[tuple[dt.date, dt.date]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
