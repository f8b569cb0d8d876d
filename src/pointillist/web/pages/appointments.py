"""Appointments: a day and week calendar per practitioner, and booking from it.

The calendar shows the clinic's opening hours and closed days (the clinic's settings over
the policy ``serve`` was given); booking goes through the same store function as the API,
so a closed day, a time outside the hours, a clash with another appointment of the
practitioner (named in the message) or an expired licence is refused, and the form comes
back with what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pointillist.domain.appointments import ClinicHours, occupied_minutes, parse_time, span_text
from pointillist.domain.plan import WEEKDAYS
from pointillist.errors import PointillistError
from pointillist.store import clinic as clinics
from pointillist.store import records
from pointillist.store import sessions as booking
from pointillist.store.models import Practitioner, TreatmentSession
from pointillist.web.deps import DbSession
from pointillist.web.pages._common import (
    FormErrors,
    Page,
    SignedIn,
    date_field,
    form_text,
    redirect,
    render,
)
from pointillist.web.routers._common import PathId
from pointillist.web.routers.consultations import domain_policy

router = APIRouter(include_in_schema=False)

#: Clients offered in the booking form's list (the clinic's, by name).
CLIENT_CHOICES = 500


@dataclass(frozen=True)
class Appointment:
    """One booked session as the calendar shows it."""

    id: int
    client_name: str
    span: str
    status: str


@dataclass(frozen=True)
class CalendarDay:
    """One day of the calendar: open or closed, and its appointments by time."""

    day: date
    is_open: bool
    appointments: list[Appointment]

    @property
    def is_today(self) -> bool:
        return self.day == date.today()


SLOT_MINUTES = 15
"""Rows of the day grid: appointments are drawn from the slot holding their start to the
slot holding their end (their exact times are written in the block)."""


@dataclass(frozen=True)
class GridCell:
    """One cell of the day grid: an appointment spanning ``rows`` slots, or a free slot."""

    rows: int
    appointment: Appointment | None = None


@dataclass(frozen=True)
class GridRow:
    """One slot of the day grid: its time label (at each hour) and a cell per practitioner
    (None where an appointment above spans it)."""

    minute: int
    label: str
    label_rows: int
    open: bool
    cells: list[GridCell | None]


@dataclass(frozen=True)
class DayColumn:
    """A practitioner's column of the day grid."""

    practitioner: Practitioner
    licence_problem: str | None
    count: int


def day_grid(
    columns: list[list[tuple[tuple[int, int], Appointment]]], hours: ClinicHours, is_open: bool
) -> list[GridRow]:
    """The rows of a day: opening to closing time (widened to any appointment outside it)
    in :data:`SLOT_MINUTES` slots, each practitioner's appointments as blocks.

    ``columns`` holds, per practitioner, the appointments' spans (minutes after midnight)
    in time order. A practitioner is never double-booked, but two appointments can meet
    inside one slot: the later one then starts at the next free slot.
    """
    opening = hours.opening_time.hour * 60 + hours.opening_time.minute
    closing = hours.closing_time.hour * 60 + hours.closing_time.minute
    spans = [span for column in columns for span, _ in column]
    first = min([opening, *(s for s, _ in spans)]) // SLOT_MINUTES
    last = -(-max([closing, *(e for _, e in spans)]) // SLOT_MINUTES)
    count = max(1, last - first)
    grid: list[list[GridCell | None]] = [[GridCell(1)] * len(columns) for _ in range(count)]
    for col, column in enumerate(columns):
        free_from = 0
        for (start, end), appointment in column:
            top = max(start // SLOT_MINUTES - first, free_from)
            bottom = max(-(-end // SLOT_MINUTES) - first, top + 1)
            bottom = min(bottom, count)
            if top >= count:
                continue
            grid[top][col] = GridCell(bottom - top, appointment)
            for row in range(top + 1, bottom):
                grid[row][col] = None
            free_from = bottom
    rows = []
    for index, cells in enumerate(grid):
        minute = (first + index) * SLOT_MINUTES
        starts_label = index == 0 or minute % 60 == 0
        label_rows = 0
        if starts_label:
            next_hour = (minute // 60 + 1) * 60
            label_rows = min((next_hour - minute) // SLOT_MINUTES, count - index)
        rows.append(
            GridRow(
                minute=minute,
                label=f"{minute // 60:02d}:{minute % 60:02d}" if starts_label else "",
                label_rows=label_rows,
                open=is_open and opening <= minute < closing,
                cells=cells,
            )
        )
    return rows


def hours_of(request: Request, page: Page) -> ClinicHours:
    """The signed-in user's clinic's opening hours."""
    return clinics.opening_hours(page.user.clinic, domain_policy(request))


def calendar_days(
    db: DbSession,
    page: Page,
    practitioner: Practitioner,
    first: date,
    count: int,
    hours: ClinicHours,
) -> list[CalendarDay]:
    """``count`` days from ``first`` of ``practitioner``'s calendar."""
    diary = booking.practitioner_diary(
        db, page.scope, practitioner.id, first, first + timedelta(days=count - 1)
    )
    days = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        todays = [(s, name) for s, name in diary if s.scheduled_on == day]
        todays.sort(
            key=lambda pair: occupied_minutes(pair[0].start_time, pair[0].duration_minutes, hours)
        )
        days.append(
            CalendarDay(
                day=day,
                is_open=hours.is_open(day),
                appointments=[_appointment(s, name, hours) for s, name in todays],
            )
        )
    return days


def _appointment(treated: TreatmentSession, client_name: str, hours: ClinicHours) -> Appointment:
    span = occupied_minutes(treated.start_time, treated.duration_minutes, hours)
    return Appointment(
        id=treated.id,
        client_name=client_name,
        span=span_text(span) if treated.start_time else "all day",
        status=treated.status,
    )


@router.get("/appointments")
def calendar(
    request: Request,
    page: SignedIn,
    db: DbSession,
    practitioner: Annotated[int | None, Query(ge=1)] = None,
    view: Literal["day", "week"] = "week",
    day: Annotated[date | None, Query()] = None,
    client: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    form = {"scheduled_on": (day or date.today()).isoformat(), "client_id": str(client or "")}
    return _render_calendar(request, page, db, practitioner, view, day, form, FormErrors())


def _render_calendar(
    request: Request,
    page: Page,
    db: DbSession,
    practitioner_id: int | None,
    view: str,
    day: date | None,
    form: dict[str, str],
    errors: FormErrors,
    *,
    status_code: int = 200,
) -> Response:
    practitioners = clinics.list_practitioners(db, page.scope, active_only=True)
    chosen = _chosen_practitioner(db, page, practitioners, practitioner_id)
    hours = hours_of(request, page)
    day = day or date.today()
    first = day if view == "day" else day - timedelta(days=day.weekday())
    count = 1 if view == "day" else 7
    days = calendar_days(db, page, chosen, first, count, hours) if chosen else []
    step = timedelta(days=count)
    grid: list[GridRow] = []
    columns: list[DayColumn] = []
    if view == "day" and practitioners:
        spans = []
        for p in practitioners:
            diary = booking.practitioner_diary(db, page.scope, p.id, first, first)
            booked = [(s, name) for s, name in diary if s.scheduled_on == first]
            column = sorted(
                (
                    (occupied_minutes(s.start_time, s.duration_minutes, hours), s, name)
                    for s, name in booked
                ),
                key=lambda item: item[0],
            )
            spans.append([(span, _appointment(s, name, hours)) for span, s, name in column])
            columns.append(
                DayColumn(p, clinics.practitioner_licence_problem(p, first), len(column))
            )
        grid = day_grid(spans, hours, hours.is_open(first))
    context = {
        "practitioners": practitioners,
        "chosen": chosen,
        "licence_problem": clinics.practitioner_licence_problem(chosen, day) if chosen else None,
        "view": view,
        "day": day,
        "days": days,
        "grid": grid,
        "slot_minutes": SLOT_MINUTES,
        "columns": columns,
        "is_open": hours.is_open(first),
        "previous": first - step,
        "next": first + step,
        "hours": hours,
        "weekday_names": [name.capitalize() for name in WEEKDAYS],
        "clients": records.list_clients(db, page.scope, limit=CLIENT_CHOICES),
        "form": form,
        "errors": errors,
    }
    return render(request, "appointments/calendar.html", context, status_code=status_code)


def _chosen_practitioner(
    db: DbSession, page: Page, practitioners: list[Practitioner], wanted: int | None
) -> Practitioner | None:
    if wanted is not None:
        return clinics.get_practitioner(db, page.scope, wanted)
    mine = [p for p in practitioners if p.user_id == page.user.id]
    candidates = mine or practitioners
    return candidates[0] if candidates else None


@router.post("/appointments")
async def book(request: Request, page: SignedIn, db: DbSession) -> Response:
    form = await request.form()
    keys = ("practitioner_id", "client_id", "scheduled_on", "start_time", "duration_minutes")
    typed = {key: form_text(form, key) for key in keys}
    view = "day" if form_text(form, "view") == "day" else "week"
    errors = FormErrors()
    day = date_field(typed["scheduled_on"], "scheduled_on", errors)
    if day is None and "scheduled_on" not in errors.fields:
        errors.fields["scheduled_on"] = "give the day of the appointment"
    start = _time_field(typed["start_time"], errors)
    minutes = _minutes_field(typed["duration_minutes"], errors)
    client_id = _id_field(typed["client_id"], "client_id", "choose the client", errors)
    practitioner_id = _id_field(
        typed["practitioner_id"], "practitioner_id", "choose the practitioner", errors
    )
    refused = False
    if not errors and day is not None and client_id and practitioner_id:
        try:
            booking.book_session(
                db,
                page.scope,
                client_id,
                practitioner_id=practitioner_id,
                scheduled_on=day,
                start_time=start,
                duration_minutes=minutes,
                hours=hours_of(request, page),
            )
        except PointillistError as exc:
            # Said once, above the form: a clash or a closed day is about the whole booking.
            errors.summary = exc.message
            refused = True
        else:
            client = records.get_client(db, page.scope, client_id)
            return redirect(
                request,
                f"/appointments?practitioner={practitioner_id}&view={view}&day={day.isoformat()}",
                flash=f"Booked {client.name} on {day:%a %d %b %Y} at {start:%H:%M}.",
            )
    errors.summary = errors.summary or "check the fields marked below"
    return _render_calendar(
        request,
        page,
        db,
        practitioner_id,
        view,
        day,
        typed,
        errors,
        status_code=409 if refused else 422,
    )


def _time_field(text: str, errors: FormErrors) -> time:
    if not text:
        errors.fields["start_time"] = "give the start time"
        return time(0, 0)
    try:
        return parse_time(text, "start time")
    except PointillistError as exc:
        errors.fields["start_time"] = exc.message
        return time(0, 0)


def _minutes_field(text: str, errors: FormErrors) -> int | None:
    if not text:
        errors.fields["duration_minutes"] = "give the length in minutes"
        return None
    if not text.isdigit() or not 0 < int(text) <= 24 * 60:
        errors.fields["duration_minutes"] = "give the length as whole minutes, e.g. 240"
        return None
    return int(text)


def _id_field(text: str, name: str, message: str, errors: FormErrors) -> int | None:
    if not text.isdigit():
        errors.fields[name] = message
        return None
    return int(text)


@router.post("/appointments/{session_id}/cancel")
async def cancel(request: Request, session_id: PathId, page: SignedIn, db: DbSession) -> Response:
    cancelled = booking.cancel_session(db, page.scope, session_id)
    return redirect(
        request,
        f"/appointments?practitioner={cancelled.practitioner_id}&view=day"
        f"&day={cancelled.scheduled_on.isoformat()}",
        flash=f"Appointment on {cancelled.scheduled_on:%d %b %Y} cancelled.",
    )
