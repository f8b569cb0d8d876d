"""iCalendar export of a plan: one event per session day, one all-day event per
aftercare window, and the touch-up reminder, for the client's and the clinic's calendars.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from icalendar import Calendar, Event, vCalAddress, vText

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
                f"{session.target_density_per_cm2:g} impressions/cm² after this session.",
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


def appointment_to_ics(
    *,
    uid: str,
    start: dt.datetime,
    minutes: int,
    summary: str,
    location: str,
    description: str,
    organizer_email: str,
    organizer_name: str,
    attendee_email: str,
    attendee_name: str,
    sequence: int = 0,
    stamp: dt.datetime | None = None,
) -> bytes:
    """One appointment as an invitation (RFC 5546 ``METHOD:REQUEST``) that mail programs
    show with "add to calendar".

    ``start`` is timezone-aware and written in UTC, so the invitation lands at the right
    hour wherever the client's calendar is. ``uid`` must stay the same for the same
    appointment and ``sequence`` grow when it moves, so calendars update the event
    instead of adding a second one.
    """
    if start.tzinfo is None:
        raise ValueError("the appointment's start must be timezone-aware")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp or dt.datetime.now(dt.UTC))
    event.add("dtstart", start.astimezone(dt.UTC))
    event.add("dtend", (start + dt.timedelta(minutes=minutes)).astimezone(dt.UTC))
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("status", "CONFIRMED")
    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = vText(organizer_name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    attendee.params["cn"] = vText(attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED")
    event.add("attendee", attendee)
    cal.add_component(event)
    return bytes(cal.to_ical())
