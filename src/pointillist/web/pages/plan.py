"""Plan and quote: the plan the consultation made, changed within the domain's rules
(start, number of sessions, interval, price tiers), and booked in one step.

A change makes a new plan from the same consultation's answers (the old one stays in the
record, as agreed then); booking uses :func:`pointillist.store.sessions.book_plan`: every
session day, one practitioner, one start time, all or none.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pointillist.domain import PlanRequest, client_from_mapping, consult
from pointillist.domain.appointments import parse_time
from pointillist.errors import PointillistError
from pointillist.reports.plan_json import plan_to_dict
from pointillist.store import clinic as clinics
from pointillist.store import records
from pointillist.store import sessions as booking
from pointillist.store.errors import NotFound
from pointillist.store.models import Client, Consultation, TreatmentPlan, TreatmentSession
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


def _latest_plan(db: DbSession, page: Page, client: Client) -> TreatmentPlan | None:
    plans = records.list_for_client(db, page.scope, TreatmentPlan, client.id)
    return plans[-1] if plans else None


def _show(
    request: Request,
    db: DbSession,
    page: Page,
    client: Client,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    booking_form: dict[str, str] | None = None,
    booking_errors: FormErrors | None = None,
) -> Response:
    plan = _latest_plan(db, page, client)
    consultation = None
    booked: list[TreatmentSession] = []
    practitioners = clinics.list_practitioners(db, page.scope, active_only=True)
    served = clinics.clinic_policy(clinics.get_clinic(db, page.scope), domain_policy(request))
    hours = clinics.opening_hours(clinics.get_clinic(db, page.scope), domain_policy(request))
    if plan is not None:
        if plan.consultation_id is not None:
            consultation = records.get_clinical(db, page.scope, Consultation, plan.consultation_id)
        booked = [
            s
            for s in records.list_for_client(db, page.scope, TreatmentSession, client.id)
            if s.plan_id == plan.id and s.status != "cancelled"
        ]
    snapshot: dict[str, Any] = plan.snapshot if plan is not None else {}
    sessions = snapshot.get("sessions") or []
    own = next((str(p.id) for p in practitioners if p.user_id == page.user.id), "")
    default_practitioner = (
        str(consultation.practitioner_id) if consultation and consultation.practitioner_id else own
    )
    limits = {"sessions": served.plan["sessions"], "interval": served.plan["interval"]}
    status = 422 if (errors or booking_errors) else 200
    return render(
        request,
        "plan/page.html",
        {
            "client": client,
            "plan": plan,
            "snapshot": snapshot,
            "consultation": consultation,
            "booked": booked,
            "practitioners": practitioners,
            "experience_tiers": [k for k in served.pricing["experience"] if k != "source"],
            "clinic_tiers": [k for k in served.pricing["clinic_tier"] if k != "source"],
            "limits": limits,
            "form": form
            or {
                "start": sessions[0]["date"] if sessions else "",
                "sessions": str(len(sessions)) if sessions else "",
                "interval_days": _interval(sessions),
                "experience": "",
                "clinic_tier": "standard",
            },
            "errors": errors or FormErrors(),
            "booking_form": booking_form
            or {
                "practitioner_id": default_practitioner,
                "start_time": hours.opening_time.strftime("%H:%M"),
            },
            "booking_errors": booking_errors or FormErrors(),
            "hours": hours,
        },
        status_code=status,
    )


def _interval(sessions: list[dict[str, Any]]) -> str:
    if len(sessions) < 2:
        return ""
    first, second = (date.fromisoformat(s["date"]) for s in sessions[:2])
    return str((second - first).days)


@router.get("/clients/{client_id}/plan")
def plan_page(request: Request, client_id: PathId, page: SignedIn, db: DbSession) -> Response:
    page.scope.require("clinical")
    return _show(request, db, page, records.get_client(db, page.scope, client_id))


@router.post("/clients/{client_id}/plan")
async def revise(request: Request, client_id: PathId, page: SignedIn, db: DbSession) -> Response:
    """A new plan from the latest consultation's answers, with the changes asked for."""
    page.scope.require("clinical")
    client = records.get_client(db, page.scope, client_id)
    form = await request.form()
    typed = {
        k: form_text(form, k)
        for k in ("start", "sessions", "interval_days", "experience", "clinic_tier")
    }
    errors = FormErrors()
    plan = _latest_plan(db, page, client)
    if plan is None or plan.consultation_id is None:
        errors.summary = "run a consultation first: the plan comes from its answers"
        return _show(request, db, page, client, form=typed, errors=errors)
    consultation = records.get_clinical(db, page.scope, Consultation, plan.consultation_id)
    start = date_field(typed["start"], "start", errors)
    numbers: dict[str, int | None] = {}
    for name in ("sessions", "interval_days"):
        text = typed[name]
        numbers[name] = int(text) if text.isdigit() else None
        if text and not text.isdigit():
            errors.fields[name] = "give a whole number, or leave it empty for the clinic's usual"
    if not errors:
        try:
            policy = clinics.clinic_policy(
                clinics.get_clinic(db, page.scope), domain_policy(request)
            )
            experience = typed["experience"]
            if not experience and consultation.practitioner_id is not None:
                practitioner = clinics.get_practitioner(
                    db, page.scope, consultation.practitioner_id
                )
                experience = practitioner.experience_tier or ""
            made = consult(
                client_from_mapping(consultation.answers),
                PlanRequest(
                    consultation_date=date.today(),
                    start=start,
                    sessions=numbers["sessions"],
                    interval_days=numbers["interval_days"],
                    experience=experience or "standard",
                    clinic_tier=typed["clinic_tier"] or "standard",
                ),
                policy,
            )
            records.add_plan(
                db,
                page.scope,
                client.id,
                snapshot=plan_to_dict(made),
                consultation_id=consultation.id,
            )
        except PointillistError as exc:
            errors.add(exc)
        else:
            return redirect(request, f"/clients/{client.id}/plan", flash="Plan and quote updated.")
    errors.summary = errors.summary or "the plan was not changed: see below"
    return _show(request, db, page, client, form=typed, errors=errors)


@router.post("/clients/{client_id}/plan/{plan_id}/book")
async def book(
    request: Request, client_id: PathId, plan_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    """Book every session of the plan with one practitioner at one time, all or none."""
    client = records.get_client(db, page.scope, client_id)
    form = await request.form()
    typed = {k: form_text(form, k) for k in ("practitioner_id", "start_time")}
    errors = FormErrors()
    plan = records.get_clinical(db, page.scope, TreatmentPlan, plan_id)
    if plan.client_id != client.id:
        raise NotFound(f"no plan {plan_id} for this client")
    if not typed["practitioner_id"].isdigit():
        errors.fields["practitioner_id"] = "choose who treats the client"
    start_time = None
    try:
        start_time = parse_time(typed["start_time"], "start time")
    except PointillistError as exc:
        errors.fields["start_time"] = exc.message
    if not errors and start_time is not None:
        clinic = clinics.get_clinic(db, page.scope)
        try:
            booked = booking.book_plan(
                db,
                page.scope,
                plan.id,
                practitioner_id=int(typed["practitioner_id"]),
                start_time=start_time,
                hours=clinics.opening_hours(clinic, domain_policy(request)),
            )
        except PointillistError as exc:
            # Nothing may stay booked when one appointment is refused.
            db.rollback()
            errors.add(exc)
        else:
            days = ", ".join(f"{s.scheduled_on:%d %b}" for s in booked)
            return redirect(
                request,
                f"/clients/{client.id}/plan",
                flash=f"Booked {len(booked)} appointments at {start_time:%H:%M}: {days}.",
            )
    errors.summary = errors.summary or "nothing was booked: see below"
    return _show(request, db, page, client, booking_form=typed, booking_errors=errors)
