"""Clients: the list and search, a new client, and the client's page with the timeline of
everything recorded about them (health records only for the clinical roles)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pointillist.errors import PointillistError
from pointillist.store import records
from pointillist.store.models import (
    Client,
    Consent,
    Consultation,
    Photo,
    Reminder,
    Simulation,
    TreatmentPlan,
    TreatmentSession,
)
from pointillist.web.deps import DbSession
from pointillist.web.pages._common import (
    FormErrors,
    Page,
    SignedIn,
    date_field,
    form_text,
    is_htmx,
    redirect,
    render,
)
from pointillist.web.routers._common import PathId

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/clients")
def client_list(
    request: Request,
    page: SignedIn,
    db: DbSession,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    found = records.list_clients(db, page.scope, search=q.strip() or None, limit=PAGE_SIZE)
    context = {"clients": found, "q": q, "page_size": PAGE_SIZE}
    # The search box asks for the rows only, as the user types.
    template = "clients/_rows.html" if is_htmx(request) else "clients/list.html"
    return render(request, template, context)


@router.get("/clients/new")
def new_client_form(request: Request, page: SignedIn) -> Response:
    return render(request, "clients/new.html")


@router.post("/clients/new")
async def create_client(request: Request, page: SignedIn, db: DbSession) -> Response:
    form = await request.form()
    typed = {k: form_text(form, k) for k in ("name", "date_of_birth", "email", "phone", "notes")}
    errors = FormErrors()
    born = date_field(typed["date_of_birth"], "date_of_birth", errors, past=True)
    if typed["email"] and ("@" not in typed["email"] or " " in typed["email"]):
        errors.fields["email"] = "this is not an e-mail address; correct it or leave it empty"
    if not typed["name"]:
        errors.fields["name"] = "give the client's name"
    if not errors:
        try:
            client = records.create_client(
                db,
                page.scope,
                name=typed["name"],
                date_of_birth=born,
                email=typed["email"] or None,
                phone=typed["phone"] or None,
                notes=typed["notes"] if page.can("clinical") else "",
            )
        except PointillistError as exc:
            errors.add(exc)
        else:
            return redirect(request, f"/clients/{client.id}", flash=f"{client.name} added.")
    errors.summary = errors.summary or "check the fields marked below"
    return render(request, "clients/new.html", {"form": typed, "errors": errors}, status_code=422)


@dataclass(frozen=True)
class TimelineEntry:
    """One thing recorded about a client, as the timeline shows it."""

    at: datetime
    kind: str
    title: str
    detail: str = ""
    href: str | None = None
    image: str | None = None


@router.get("/clients/{client_id}")
def client_page(request: Request, client_id: PathId, page: SignedIn, db: DbSession) -> Response:
    client = records.get_client(db, page.scope, client_id)
    previews = []
    if page.can("clinical"):
        previews = list(reversed(records.list_for_client(db, page.scope, Simulation, client.id)))
    return render(
        request,
        "clients/page.html",
        {
            "client": client,
            "timeline": timeline(db, page, client),
            "previews": previews,
            "preview_summary": preview_summary,
        },
    )


def timeline(db: DbSession, page: Page, client: Client) -> list[TimelineEntry]:
    """Everything recorded about ``client`` that the user's role may see, newest first."""
    scope, cid = page.scope, client.id
    entries = [TimelineEntry(client.created_at, "client", "Record opened")]
    for consent in records.list_for_client(db, scope, Consent, cid):
        name = consent.template.name
        if consent.signed_at is not None:
            entries.append(
                TimelineEntry(
                    consent.signed_at,
                    "consent",
                    f"Consent signed: {name} (version {consent.template.version})",
                    f"by {consent.signer_name}",
                    href=f"/clients/{cid}/consents/{consent.id}",
                )
            )
        else:
            entries.append(
                TimelineEntry(
                    consent.created_at,
                    "consent",
                    f"Consent prepared, not signed: {name}",
                    href=f"/clients/{cid}/consents/{consent.id}",
                )
            )
    for treated in records.list_for_client(db, scope, TreatmentSession, cid):
        when = datetime.combine(treated.scheduled_on, time(), tzinfo=UTC)
        entries.append(
            TimelineEntry(
                when,
                "session",
                f"Session {treated.status}: {treated.scheduled_on:%d %b %Y}",
                f"with {treated.practitioner.name}"
                + (f", {treated.duration_minutes} min" if treated.duration_minutes else ""),
            )
        )
    for reminder in records.list_for_client(db, scope, Reminder, cid):
        when = datetime.combine(reminder.due_on, time(), tzinfo=UTC)
        entries.append(
            TimelineEntry(when, "reminder", f"Reminder ({reminder.kind})", reminder.message)
        )
    from pointillist.web.pages.messages import message_timeline

    entries.extend(message_timeline(db, page, cid))
    if client.email_opted_out_at is not None:
        entries.append(
            TimelineEntry(client.email_opted_out_at, "message", "Unsubscribed from e-mail")
        )
    if page.can("clinical"):
        entries.extend(_clinical_entries(db, page, client))
    return sorted(entries, key=lambda e: e.at, reverse=True)


def _clinical_entries(db: DbSession, page: Page, client: Client) -> list[TimelineEntry]:
    scope, cid = page.scope, client.id
    entries = []
    for consultation in records.list_for_client(db, scope, Consultation, cid):
        outcome = str(consultation.screening.get("outcome", "?"))
        pattern = str(consultation.answers.get("pattern", ""))
        entries.append(
            TimelineEntry(
                consultation.created_at,
                "consultation",
                f"Consultation: {pattern}",
                f"screening: {outcome}",
                href=f"/clients/{cid}/consultations/{consultation.id}",
            )
        )
    for plan in records.list_for_client(db, scope, TreatmentPlan, cid):
        quote = plan.snapshot.get("quote") or {}
        sessions = plan.snapshot.get("sessions") or []
        detail = f"{len(sessions)} sessions"
        if quote:
            detail += f", {quote.get('currency', '')} {quote.get('total', 0):,.2f}"
        entries.append(
            TimelineEntry(
                plan.created_at, "plan", "Plan and quote", detail, href=f"/clients/{cid}/plan"
            )
        )
    for photo in records.list_for_client(db, scope, Photo, cid):
        entries.append(
            TimelineEntry(
                photo.created_at,
                "photo",
                f"Photo: {photo.kind}",
                "marketing use agreed" if photo.marketing_consent else "record only",
                href=f"/clients/{cid}/photos",
                image=f"/api/photos/{photo.id}/file",
            )
        )
    for simulation in records.list_for_client(db, scope, Simulation, cid):
        first = simulation.outputs[0]["name"] if simulation.outputs else None
        entries.append(
            TimelineEntry(
                simulation.created_at,
                "preview",
                "Saved preview",
                preview_summary(simulation.parameters),
                image=f"/api/simulations/{simulation.id}/outputs/{first}" if first else None,
            )
        )
    return entries


#: How a saved preview's parameters read on the client page, in this order.
PREVIEW_WORDS = (
    ("height_cm", "hairline {} cm"),
    ("transition_band_mm", "softness {} mm"),
    ("sessions", "{} sessions"),
    ("years", "{} years healed"),
    ("shade", "shade {}"),
    ("treatment_area_cm2", "area {} cm²"),
)


def preview_summary(parameters: dict[str, Any]) -> str:
    """A saved preview's parameters in words, e.g. 'hairline 9.5 cm, 4 sessions'."""
    shown = [words.format(parameters[key]) for key, words in PREVIEW_WORDS if key in parameters]
    if parameters.get("area_painted"):
        shown.append("area painted by hand")
    return ", ".join(shown)
