"""The client handout from the records: the page preview and the PDF, from the same
templates (``pointillist/reports/templates/handout``).

What goes on it depends on who makes it. Owners and practitioners print everything: the
screening in plain words, the plan's dates, the aftercare, the quote, the latest saved
preview and the ink passport. Front-desk staff see no health data (GDPR art. 9), so
their handout holds the clinic, the booked appointments, the aftercare dated from them
and the ink passport (sessions and pigment stock are theirs to handle): no screening,
no plan or quote (the plan is a clinical record) and no photos.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pointillist.domain.aftercare import AftercareWindow, aftercare_windows, downtime_note
from pointillist.domain.plan import PlannedSession, SessionDay
from pointillist.reports.handout import (
    TEMPLATE,
    Appointment,
    ClinicDetails,
    Handout,
    InkRecord,
    Paper,
    PreviewImage,
    appointments_from_plan,
    handout_context,
    handout_css,
    handout_pdf,
)
from pointillist.store import audit, records
from pointillist.store import clinic as clinics
from pointillist.store.models import Client, Simulation, TreatmentPlan, TreatmentSession
from pointillist.web.deps import DbSession
from pointillist.web.pages._common import CONTENT_SECURITY_POLICY, Page, SignedIn, templates
from pointillist.web.routers._common import PathId
from pointillist.web.routers.consultations import domain_policy

router = APIRouter(include_in_schema=False)

PaperQuery = Annotated[Paper, Query(description="a4 or letter")]


@router.get("/clients/{client_id}/handout")
def handout_page(
    request: Request, client_id: PathId, page: SignedIn, db: DbSession, paper: PaperQuery = "a4"
) -> Response:
    """The handout as a page: exactly what the PDF prints."""
    handout = build_handout(request, db, page, client_id)
    context = handout_context(handout, paper=paper, stylesheet="/handout.css")
    context["back_href"] = f"/clients/{client_id}"
    context["pdf_href"] = f"/clients/{client_id}/handout.pdf?paper={paper}"
    response = templates.TemplateResponse(request, TEMPLATE, context)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/clients/{client_id}/handout.pdf")
def handout_download(
    request: Request, client_id: PathId, page: SignedIn, db: DbSession, paper: PaperQuery = "a4"
) -> Response:
    """The handout as a PDF to download and print."""
    handout = build_handout(request, db, page, client_id)
    data = handout_pdf(handout, paper=paper)
    audit.record(db, page.scope, "export", "handout", None, client_id=client_id, paper=paper)
    name = "".join(ch if ch.isalnum() else "-" for ch in handout.client_name).strip("-")
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="handout-{name or client_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/handout.css")
def handout_stylesheet() -> Response:
    return Response(handout_css(), media_type="text/css")


def build_handout(request: Request, db: DbSession, page: Page, client_id: int) -> Handout:
    """The handout of ``client_id`` with what ``page``'s user may see."""
    client = records.get_client(db, page.scope, client_id)
    clinic = clinics.get_clinic(db, page.scope)
    policy = clinics.clinic_policy(clinic, domain_policy(request))
    clinical = page.can("clinical")
    plan = _latest_plan(db, page, client) if clinical else None
    booked = [
        s
        for s in records.list_for_client(db, page.scope, TreatmentSession, client.id)
        if s.status != "cancelled"
    ]
    # Once the plan is booked (all its days at once), the bookings replace its dates:
    # a rescheduled day must not also show at its old date.
    unbooked_plan = plan is not None and not any(s.plan_id == plan.id for s in booked)
    appointments = _appointments(booked, plan.snapshot if plan and unbooked_plan else None)
    return Handout(
        clinic=ClinicDetails(
            clinic.name, clinic.licence_number, clinic.licence_authority, clinic.licence_expires_on
        ),
        client_name=client.name,
        made_on=date.today(),
        appointments=appointments,
        aftercare=_aftercare(appointments, policy.aftercare),
        downtime=downtime_note(policy.aftercare),
        plan=plan.snapshot if plan else None,
        ink=tuple(
            InkRecord(s.scheduled_on, b.brand, b.shade, b.lot, b.expires_on)
            for s in sorted(booked, key=lambda s: s.scheduled_on)
            for b in s.bottles
        ),
        previews=_previews(request, db, page, client) if clinical else (),
    )


def _latest_plan(db: DbSession, page: Page, client: Client) -> TreatmentPlan | None:
    plans = records.list_for_client(db, page.scope, TreatmentPlan, client.id)
    return plans[-1] if plans else None


def _appointments(
    booked: list[TreatmentSession], plan: dict[str, Any] | None
) -> tuple[Appointment, ...]:
    """The booked days with their times, and the days of a plan not booked yet."""
    # A booked day of the plan keeps the plan's name for it ("Session 1"), so the list
    # reads 1, 2, 3 whether or not each day is booked yet.
    planned = {a.date: a.label for a in appointments_from_plan(plan)} if plan else {}
    days = [
        Appointment(
            planned.get(s.scheduled_on, "Session")
            + (f" ({s.status})" if s.status == "completed" else ""),
            s.scheduled_on,
            s.start_time,
            s.duration_minutes,
            booked=True,
        )
        for s in booked
    ]
    if plan is not None:
        taken = {a.date for a in days}
        days += [a for a in appointments_from_plan(plan) if a.date not in taken]
    return tuple(sorted(days, key=lambda a: (a.date, a.start or a.date)))


def _aftercare(
    appointments: tuple[Appointment, ...], table: Mapping[str, Any]
) -> tuple[AftercareWindow, ...]:
    # The windows follow the days actually at the clinic (a rescheduled session moves
    # them), so they are dated from the appointments rather than from the plan as made.
    # Each day counts as a session: only dates matter to the windows.
    needling = [a for a in appointments if a.label.startswith("Session")]
    sessions = [
        PlannedSession(
            number=n,
            days=(SessionDay(a.date, a.minutes or 0),),
            impressions=0,
            cumulative_impressions=0,
            target_density_per_cm2=0.0,
        )
        for n, a in enumerate(needling, start=1)
    ]
    return aftercare_windows(sessions, table)


def _previews(
    request: Request, db: DbSession, page: Page, client: Client
) -> tuple[PreviewImage, ...]:
    """The latest saved preview's before/after (the editor saves ``before_after.jpg``)."""
    saved = records.list_for_client(db, page.scope, Simulation, client.id)
    if not saved:
        return ()
    latest = saved[-1]
    outputs = {o["name"]: o for o in latest.outputs}
    chosen = outputs.get("before_after.jpg") or next(iter(outputs.values()), None)
    if chosen is None:
        return ()
    data = request.app.state.photo_store.read(chosen["sha256"], chosen["media_type"])
    sessions = latest.parameters.get("sessions")
    caption = f"Saved preview of {latest.created_at:%d %B %Y}" + (
        f": before, and after {sessions} sessions" if sessions else ""
    )
    return (PreviewImage(caption, data, chosen["media_type"]),)
