"""iCalendar export of a plan: one event per session day, one all-day event per
aftercare window, and the touch-up reminder, for the client's and the clinic's calendars.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from icalendar import Calendar, Event

from pointillist.domain.consultation import TreatmentPlan

PRODID = "-//pointillist//SMP treatment plan//EN"


def plan_to_ics(plan: TreatmentPlan, *, opening_time: dt.time = dt.time(9, 0)) -> bytes:
    """The plan as an iCalendar file (RFC 5545), in the clinic's local (floating) time.

    Sessions (and a test patch, when screening asks for one) start at ``opening_time``;
    a session split over several days gets one event per day. Aftercare windows are
    all-day events whose end is exclusive, as RFC 5545 requires for dates (a window
    ending on the 5th ends at the start of the 6th).
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "SMP treatment plan")
    stamp = dt.datetime.combine(plan.request.consultation_date, dt.time(), tzinfo=dt.UTC)
    uid_base = _uid_base(plan)
    if plan.test_patch is not None:
        patch = plan.test_patch
        event = Event()
        event.add("uid", f"{uid_base}-test-patch@pointillist")
        event.add("dtstamp", stamp)
        event.add("summary", "SMP test patch")
        event.add("dtstart", dt.datetime.combine(patch.date, opening_time))
        event.add("duration", dt.timedelta(minutes=patch.minutes))
        event.add(
            "description",
            f"A few test impressions; their healing is checked on {patch.healing_check_date} "
            "before the first session.",
        )
        event.add("categories", ["SMP test patch"])
        cal.add_component(event)
    for session in plan.sessions:
        for part, day in enumerate(session.days, start=1):
            event = Event()
            split = f" (day {part} of {len(session.days)})" if len(session.days) > 1 else ""
            event.add("uid", f"{uid_base}-session-{session.number}-{part}@pointillist")
            event.add("dtstamp", stamp)
            event.add("summary", f"SMP session {session.number}{split}")
            event.add("dtstart", dt.datetime.combine(day.date, opening_time))
            event.add("duration", dt.timedelta(minutes=day.minutes))
            event.add(
                "description",
                f"{session.impressions} impressions; target "
                f"{session.target_density_per_cm2:g} impressions/cm2 after this session.",
            )
            event.add("categories", ["SMP session"])
            cal.add_component(event)
    for index, window in enumerate(plan.aftercare, start=1):
        event = Event()
        event.add("uid", f"{uid_base}-aftercare-{index}@pointillist")
        event.add("dtstamp", stamp)
        event.add("summary", "SMP aftercare: avoid " + ", ".join(window.avoid))
        event.add("dtstart", window.start)
        event.add("dtend", window.end + dt.timedelta(days=1))
        event.add("description", window.advice)
        event.add("categories", ["SMP aftercare"])
        cal.add_component(event)
    if plan.touch_up_date is not None:
        event = Event()
        event.add("uid", f"{uid_base}-touch-up@pointillist")
        event.add("dtstamp", stamp)
        event.add("summary", "SMP touch-up due")
        event.add("dtstart", plan.touch_up_date)
        event.add("dtend", plan.touch_up_date + dt.timedelta(days=1))
        event.add("categories", ["SMP touch-up"])
        cal.add_component(event)
    return bytes(cal.to_ical())


def _uid_base(plan: TreatmentPlan) -> str:
    # Stable across re-exports of the same plan, so calendars update instead of duplicating.
    key = repr((plan.client, plan.request)).encode()
    return hashlib.sha256(key).hexdigest()[:16]
