"""Sessions, pigment stock and lot recall.

- The session log: needle, zones, notes and the pigment lots used (a picker of the
  bottles in date on the session's day; an expired bottle is refused by the store), and
  completion, which the store allows only with the client's signed consent and a lot.
  Front-desk staff see the booking only: no notes, needle, zones or lots.
- Pigment stock: the clinic's bottles with their expiry, and adding a bottle (an expired
  one is refused).
- Lot recall: every client and session that received a lot, with whom to contact.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pointillist.errors import PointillistError
from pointillist.store import clinic as clinics
from pointillist.store import records
from pointillist.store import sessions as booking
from pointillist.store.models import TreatmentSession
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

#: Bottles expiring within this many days are marked on the stock page.
EXPIRY_NOTICE_DAYS = 30


def zone_choices(request: Request, treated: TreatmentSession) -> list[tuple[str, str]]:
    """(key, name) of the scalp zones the clinic's zone table knows, and any the session
    already lists."""
    names: dict[str, str] = dict(domain_policy(request).zones["zone_names"])
    for key in treated.zones:
        names.setdefault(key, key.replace("_", " "))
    return list(names.items())


def _session_context(
    request: Request,
    db: DbSession,
    page: Page,
    session_id: int,
    form: dict[str, str] | None = None,
    zones: list[str] | None = None,
) -> dict[str, Any]:
    """What the session page shows; ``form`` and ``zones``: what was typed, when a form
    comes back with an error (else the session's own values)."""
    treated = booking.get_session(db, page.scope, session_id)
    clinical = page.can("clinical")
    context: dict[str, Any] = {
        "treated": treated,
        "form": form
        or {
            "needle": treated.needle or "",
            "notes": treated.notes,
            "duration_minutes": str(treated.duration_minutes or ""),
        },
        "checked_zones": treated.zones if zones is None else zones,
        "client": records.get_client(db, page.scope, treated.client_id),
        "clinical": clinical,
        "problems": (
            booking.completion_problems(db, page.scope, treated)
            if treated.status == "planned" and clinical
            else []
        ),
    }
    if clinical:
        used = {bottle.id for bottle in treated.bottles}
        # Expired bottles are listed, disabled, so that a missing lot is explained.
        context["bottles"] = [b for b in booking.list_bottles(db, page.scope) if b.id not in used]
        context["zones"] = zone_choices(request, treated)
    return context


@router.get("/sessions/{session_id}")
def session_page(request: Request, session_id: PathId, page: SignedIn, db: DbSession) -> Response:
    return render(request, "sessions/session.html", _session_context(request, db, page, session_id))


@router.post("/sessions/{session_id}")
async def record_details(
    request: Request, session_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    form = await request.form()
    typed = {key: form_text(form, key) for key in ("needle", "notes", "duration_minutes")}
    typed["notes"] = str(form.get("notes") or "")
    zones = [str(z) for z in form.getlist("zones")]
    treated = booking.get_session(db, page.scope, session_id)
    errors = FormErrors()
    minutes = None
    if typed["duration_minutes"]:
        if typed["duration_minutes"].isdigit() and 0 < int(typed["duration_minutes"]) <= 1440:
            minutes = int(typed["duration_minutes"])
        else:
            errors.fields["duration_minutes"] = "give the length as whole minutes, e.g. 240"
    if len(typed["needle"]) > 50:
        errors.fields["needle"] = "keep the needle to 50 characters, e.g. 1RL 0.25 mm"
    if not errors:
        try:
            if treated.status == "planned":
                booking.record_session_details(
                    db,
                    page.scope,
                    session_id,
                    zones=zones,
                    needle=typed["needle"],
                    notes=typed["notes"],
                    duration_minutes=minutes,
                )
            else:
                # A completed session keeps what was done; a late observation still goes in.
                booking.record_session_details(db, page.scope, session_id, notes=typed["notes"])
        except PointillistError as exc:
            errors.add(exc)
        else:
            return redirect(request, f"/sessions/{session_id}", flash="Session log saved.")
    errors.summary = errors.summary or "check the fields marked below"
    db.rollback()  # nothing half-recorded is kept
    context = _session_context(request, db, page, session_id, typed, zones)
    return render(request, "sessions/session.html", {**context, "errors": errors}, status_code=422)


@router.post("/sessions/{session_id}/lots")
async def record_lot(
    request: Request, session_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    form = await request.form()
    chosen = form_text(form, "bottle_id")
    errors = FormErrors()
    if not chosen.isdigit():
        errors.fields["bottle_id"] = "choose the bottle you used (its lot is on the label)"
    else:
        try:
            treated = booking.record_bottles(db, page.scope, session_id, [int(chosen)])
        except PointillistError as exc:
            errors.add(exc)
            errors.fields["bottle_id"] = exc.message
        else:
            lot = next(b for b in treated.bottles if b.id == int(chosen))
            return redirect(
                request,
                f"/sessions/{session_id}",
                flash=f"Lot {lot.lot} ({lot.brand} {lot.shade}) recorded.",
            )
    errors.summary = errors.summary or "choose a bottle"
    db.rollback()
    context = _session_context(request, db, page, session_id)
    return render(
        request,
        "sessions/session.html",
        {**context, "lot_errors": errors},
        status_code=409 if chosen.isdigit() else 422,
    )


@router.post("/sessions/{session_id}/complete")
async def complete(request: Request, session_id: PathId, page: SignedIn, db: DbSession) -> Response:
    try:
        booking.complete_session(db, page.scope, session_id)
    except PointillistError as exc:
        db.rollback()
        context = _session_context(request, db, page, session_id)
        return render(
            request,
            "sessions/session.html",
            {**context, "complete_error": exc.message},
            status_code=409,
        )
    return redirect(
        request,
        f"/sessions/{session_id}",
        flash="Session completed; the aftercare and touch-up reminders are scheduled.",
    )


# --- pigment stock ---------------------------------------------------------------------


@router.get("/stock")
def stock(request: Request, page: SignedIn, db: DbSession) -> Response:
    return _render_stock(request, page, db, {}, FormErrors())


def _render_stock(
    request: Request,
    page: Page,
    db: DbSession,
    form: dict[str, str],
    errors: FormErrors,
    *,
    status_code: int = 200,
) -> Response:
    today = date.today()
    bottles = booking.list_bottles(db, page.scope)
    rows = [
        {
            "bottle": b,
            "state": (
                "expired"
                if b.expires_on < today
                else "expiring"
                if b.expires_on <= today + timedelta(days=EXPIRY_NOTICE_DAYS)
                else "in date"
            ),
        }
        for b in sorted(bottles, key=lambda b: (b.expires_on < today, b.brand, b.shade, b.lot))
    ]
    from pointillist.color.dot import catalogue as shades_of
    from pointillist.web.pages.clinic import pigment_override

    catalogue = shades_of(pigment_override(request, clinics.get_clinic(db, page.scope)))
    context = {
        "rows": rows,
        "form": form,
        "errors": errors,
        "shades": [shade.name for shade in catalogue],
        "notice_days": EXPIRY_NOTICE_DAYS,
    }
    return render(request, "sessions/stock.html", context, status_code=status_code)


@router.post("/stock")
async def add_bottle(request: Request, page: SignedIn, db: DbSession) -> Response:
    form = await request.form()
    typed = {k: form_text(form, k) for k in ("brand", "shade", "lot", "expires_on", "opened_on")}
    errors = FormErrors()
    expires = date_field(typed["expires_on"], "expires_on", errors)
    opened = date_field(typed["opened_on"], "opened_on", errors, past=True)
    if expires is None and "expires_on" not in errors.fields:
        errors.fields["expires_on"] = "give the expiry date printed on the bottle"
    for key, words in (("brand", "brand"), ("shade", "shade"), ("lot", "lot (batch) number")):
        if not typed[key]:
            errors.fields[key] = f"give the bottle's {words} (it is on the label)"
    refused = False
    if not errors and expires is not None:
        try:
            bottle = booking.add_bottle(
                db,
                page.scope,
                brand=typed["brand"],
                shade=typed["shade"],
                lot=typed["lot"],
                expires_on=expires,
                opened_on=opened,
            )
        except PointillistError as exc:
            errors.add(exc)
            refused = True
        else:
            return redirect(request, "/stock", flash=f"Bottle of lot {bottle.lot} added to stock.")
    errors.summary = errors.summary or "check the fields marked below"
    db.rollback()
    return _render_stock(request, page, db, typed, errors, status_code=409 if refused else 422)


# --- lot recall ------------------------------------------------------------------------


@router.get("/recall")
def recall(
    request: Request,
    page: SignedIn,
    db: DbSession,
    lot: Annotated[str, Query(max_length=100)] = "",
    brand: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    page.scope.require("recall")
    errors = FormErrors()
    hits = None
    if lot.strip():
        try:
            hits = booking.recall_lot(db, page.scope, lot, brand=brand.strip() or None)
        except PointillistError as exc:
            errors.add(exc)
    context = {
        "form": {"lot": lot, "brand": brand},
        "errors": errors,
        "hits": hits,
        "clients": len({hit.client_id for hit in hits or []}),
    }
    return render(request, "sessions/recall.html", context)
