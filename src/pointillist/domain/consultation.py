"""The consultation pipeline: client answers -> screening -> area -> plan -> aftercare -> quote.

:func:`consult` runs every stage and returns one :class:`TreatmentPlan`, which the CLI,
the web app and the reports all render, so they always show the same thing.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from pointillist.domain.aftercare import AftercareWindow, aftercare_windows, downtime_note
from pointillist.domain.area import TreatmentArea, treatment_area
from pointillist.domain.client import ClientProfile
from pointillist.domain.plan import (
    PlannedSession,
    TestPatch,
    book_test_patch,
    plan_sessions,
    plan_settings,
)
from pointillist.domain.policy import ClinicPolicy
from pointillist.domain.pricing import Quote, quote
from pointillist.domain.screening import Screening, screen
from pointillist.errors import PointillistError


@dataclass(frozen=True)
class PlanRequest:
    """What the practitioner asks for, beyond the client's answers."""

    consultation_date: dt.date
    start: dt.date | None = None
    sessions: int | None = None
    interval_days: int | None = None
    experience: str = "standard"
    clinic_tier: str = "standard"


@dataclass(frozen=True)
class TreatmentPlan:
    """Everything a consultation produces.

    ``sessions`` is empty when screening declines, or defers with no known date
    (``screening.needs_review``); ``quote`` is ``None`` on decline. ``test_patch`` is
    booked before the course when a finding asks for a test area and a healing check.
    """

    client: ClientProfile
    request: PlanRequest
    screening: Screening
    area: TreatmentArea
    sessions: tuple[PlannedSession, ...]
    aftercare: tuple[AftercareWindow, ...]
    downtime: str
    quote: Quote | None
    touch_up_date: dt.date | None
    start_note: str | None
    test_patch: TestPatch | None = None


def consult(client: ClientProfile, request: PlanRequest, policy: ClinicPolicy) -> TreatmentPlan:
    """Run the whole consultation for ``client`` under the clinic's ``policy``."""
    if request.start is not None and request.start < request.consultation_date:
        raise PointillistError(
            f"start date {request.start} is before the consultation ({request.consultation_date}); "
            "give a date on or after it",
            field="start",
        )
    # Check the practitioner's options even when screening stops the plan, so a typo
    # is reported now rather than at the next consultation.
    settings = plan_settings(
        policy.plan, sessions=request.sessions, interval_days=request.interval_days
    )
    screening = screen(client, policy.rules, request.consultation_date)
    area = treatment_area(client, policy.zones)
    price = (
        None
        if screening.outcome == "decline"
        else quote(
            area.total_cm2,
            policy.pricing,
            experience=request.experience,
            clinic_tier=request.clinic_tier,
        )
    )
    if price is not None and screening.needs_review:
        # Nothing can be booked until a review gives a date: a deposit would hold no date.
        price = replace(
            price,
            deposit=Decimal("0.00"),
            deposit_note="No deposit: nothing can be booked until a review sets a start date.",
        )
    sessions: tuple[PlannedSession, ...] = ()
    test_patch = None
    start_note = None
    earliest = screening.earliest_start
    if screening.outcome == "decline":
        start_note = "No treatment: screening declined (see the findings)."
    elif earliest is None:
        start_note = (
            "No dates yet: treatment is deferred until a review consultation confirms the "
            "reason has passed (see the findings)."
        )
    else:
        requested = request.start or request.consultation_date
        start = max(requested, earliest)
        notes = []
        if start > requested:
            notes.append(
                f"Start moved from {requested} to {start}: the earliest date screening allows."
            )
        if screening.needs_test_patch:
            test_patch = book_test_patch(start, settings, policy.plan)
            start = test_patch.healing_check_date
            notes.append(
                f"Test patch on {test_patch.date} ({test_patch.minutes} min); the course starts "
                f"after its healing check on {test_patch.healing_check_date}."
            )
        start_note = " ".join(notes) or None
        sessions = plan_sessions(area.total_cm2, start, settings)
    touch_up = None
    if sessions:
        years = float(policy.plan["touch_up"]["years_after_last_session"])
        touch_up = add_months(sessions[-1].last_date, round(years * 12))
    return TreatmentPlan(
        client=client,
        request=request,
        screening=screening,
        area=area,
        sessions=sessions,
        aftercare=aftercare_windows(sessions, policy.aftercare),
        downtime=downtime_note(policy.aftercare),
        quote=price,
        touch_up_date=touch_up,
        start_note=start_note,
        test_patch=test_patch,
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months, clamped to the month's end (29 Feb -> 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
