"""The consultation wizard: the client's hair loss, skin and health, and dates, then the
screening verdict with its reasons and whom to see.

Three steps in one form: each step shows its fields and carries the others' values as
hidden inputs, so going back and forth (or an error) never loses an answer. Each step is
checked by the domain's own validation (:func:`pointillist.domain.client_from_mapping`)
before the next is shown; the last runs the consultation exactly as the API does
(:func:`pointillist.web.routers.consultations.keep_consultation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from pointillist.domain import client_from_mapping
from pointillist.domain.client import CONDITIONS, LUDWIG_PATTERNS, NORWOOD_PATTERNS, OTHER_PATTERNS
from pointillist.errors import PointillistError
from pointillist.store import clinic as clinics
from pointillist.store import records
from pointillist.store.errors import NotFound
from pointillist.store.models import Client, Consultation, Practitioner, TreatmentPlan
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
from pointillist.web.pages.diagrams import LABELS, pattern_svg
from pointillist.web.routers._common import PathId
from pointillist.web.routers.consultations import ConsultationIn, domain_policy, keep_consultation

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    fields: tuple[str, ...]


STEPS = (
    Step(
        "pattern",
        "Hair loss",
        (
            "pattern",
            "sex",
            "age",
            "head_circumference_cm",
            "patch_count",
            "largest_patch_cm2",
            "scar_length_cm",
            "scar_area_cm2",
        ),
    ),
    Step("health", "Skin and health", ("fitzpatrick", "ita_deg", "conditions")),
    Step(
        "dates",
        "Dates and price",
        (
            "consultation_date",
            "start",
            "sessions",
            "interval_days",
            "practitioner_id",
            "experience",
            "clinic_tier",
        ),
    ),
)
STEP_OF_FIELD = {name: index for index, step in enumerate(STEPS) for name in step.fields}
ANSWER_FIELDS = STEPS[0].fields + STEPS[1].fields

PATTERN_GROUPS = (
    ("Norwood (male pattern)", NORWOOD_PATTERNS),
    ("Ludwig (female pattern)", LUDWIG_PATTERNS),
    ("Other", OTHER_PATTERNS),
)

FITZPATRICK = (
    (1, "I", "Always burns, never tans"),
    (2, "II", "Usually burns, tans minimally"),
    (3, "III", "Sometimes burns, tans gradually"),
    (4, "IV", "Burns minimally, tans well"),
    (5, "V", "Rarely burns, tans deeply"),
    (6, "VI", "Never burns, deeply pigmented"),
)

CONDITION_LABELS = {
    "active-acne": "Acne breakout on the scalp now",
    "acne-controlled": "Acne, controlled",
    "psoriasis-flare": "Psoriasis flare-up now",
    "psoriasis-controlled": "Psoriasis, controlled",
    "eczema-flare": "Eczema flare-up on the scalp now",
    "keloid-history": "Keloids (now or in the past)",
    "hypertrophic-scarring": "Raised (hypertrophic) scars",
    "pregnancy": "Pregnant or breastfeeding",
    "anticoagulants": "Takes anticoagulants, or has a bleeding disorder",
    "chemotherapy-ongoing": "Chemotherapy ongoing",
    "immunosuppression": "Immunosuppressed",
    "uncontrolled-diabetes": "Diabetes, not under control",
    "pigment-allergy": "Known allergy to pigments or tattoo inks",
    "isotretinoin-recent": "Isotretinoin (e.g. Roaccutane) in recent months",
    "alopecia-areata-active": "Alopecia areata, still active",
    "scalp-infection": "Scalp infection now",
    "sunburn": "Sunburnt scalp now",
}

OUTCOME_WORDS = {
    "proceed": "Proceed",
    "caution": "Proceed with caution",
    "refer": "Refer before treating",
    "defer": "Defer treatment",
    "decline": "Decline treatment",
}


def _typed(form: FormData) -> dict[str, Any]:
    """Every wizard field as typed (conditions: the list of ticked codes)."""
    typed: dict[str, Any] = {name: form_text(form, name) for name in STEP_OF_FIELD}
    typed["conditions"] = [c for c in form.getlist("conditions") if c in CONDITIONS]
    return typed


def _answers(typed: dict[str, Any]) -> dict[str, Any]:
    return {k: typed[k] for k in ANSWER_FIELDS if typed.get(k)}


def _practitioners(db: DbSession, page: Page) -> list[Practitioner]:
    return clinics.list_practitioners(db, page.scope, active_only=True)


def _own_practitioner(practitioners: list[Practitioner], page: Page) -> str:
    for practitioner in practitioners:
        if practitioner.user_id == page.user.id:
            return str(practitioner.id)
    return ""


def _show(
    request: Request,
    db: DbSession,
    page: Page,
    client: Client,
    step: int,
    typed: dict[str, Any],
    errors: FormErrors | None = None,
) -> Response:
    pricing = domain_policy(request).pricing
    context = {
        "client": client,
        "steps": STEPS,
        "step": step,
        "form": typed,
        "errors": errors or FormErrors(),
        "pattern_groups": PATTERN_GROUPS,
        "pattern_svg": pattern_svg,
        "pattern_labels": LABELS,
        "fitzpatrick": FITZPATRICK,
        "conditions": [(code, CONDITION_LABELS.get(code, code)) for code in CONDITIONS],
        "practitioners": _practitioners(db, page),
        "experience_tiers": [k for k in pricing["experience"] if k != "source"],
        "clinic_tiers": [k for k in pricing["clinic_tier"] if k != "source"],
        "today": date.today().isoformat(),
    }
    return render(
        request,
        "consultation/wizard.html",
        context,
        status_code=422 if errors else 200,
    )


@router.get("/clients/{client_id}/consultation")
def wizard(request: Request, client_id: PathId, page: SignedIn, db: DbSession) -> Response:
    page.scope.require("clinical")
    client = records.get_client(db, page.scope, client_id)
    practitioners = _practitioners(db, page)
    typed: dict[str, Any] = {name: "" for name in STEP_OF_FIELD}
    typed.update(
        conditions=[],
        sex="male",
        consultation_date=date.today().isoformat(),
        practitioner_id=_own_practitioner(practitioners, page),
        clinic_tier="standard",
    )
    # A repeat consultation starts from the client's last answers.
    previous = records.list_for_client(db, page.scope, Consultation, client_id)
    if previous:
        for key, value in previous[-1].answers.items():
            if key in typed:
                typed[key] = value if key == "conditions" else str(value)
    return _show(request, db, page, client, 0, typed)


@router.post("/clients/{client_id}/consultation")
async def wizard_step(
    request: Request, client_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    page.scope.require("clinical")
    client = records.get_client(db, page.scope, client_id)
    form = await request.form()
    typed = _typed(form)
    try:
        step = min(max(int(form_text(form, "step")), 0), len(STEPS) - 1)
    except ValueError:
        step = 0
    if form_text(form, "go") == "back":
        return _show(request, db, page, client, max(step - 1, 0), typed)
    errors = FormErrors()
    if step < len(STEPS) - 1:
        if not typed["pattern"]:
            errors.fields["pattern"] = "choose the picture closest to the client's hair loss"
            errors.summary = "choose the hair-loss pattern"
        else:
            _check_answers(typed, errors)
        if errors:
            return _show(request, db, page, client, _step_of(errors, step), typed, errors)
        return _show(request, db, page, client, step + 1, typed)
    result = _run(request, db, page, client, typed, errors)
    if result is None:
        return _show(request, db, page, client, _step_of(errors, step), typed, errors)
    consultation, _ = result
    return redirect(
        request,
        f"/clients/{client.id}/consultations/{consultation.id}",
        flash="Consultation kept: the verdict is below.",
    )


def _check_answers(typed: dict[str, Any], errors: FormErrors) -> None:
    try:
        client_from_mapping(_answers(typed))
    except PointillistError as exc:
        errors.add(exc)


def _step_of(errors: FormErrors, current: int) -> int:
    """The first step with an error on one of its fields (else the current one)."""
    steps = [STEP_OF_FIELD[f] for f in errors.fields if f in STEP_OF_FIELD]
    return min(steps) if steps else current


def _whole_number(
    typed: dict[str, Any], name: str, low: int, high: int, errors: FormErrors
) -> int | None:
    text = typed[name]
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        errors.fields[name] = f"give a whole number from {low} to {high}, or leave it empty"
        return None
    return int(text)


def _run(
    request: Request,
    db: DbSession,
    page: Page,
    client: Client,
    typed: dict[str, Any],
    errors: FormErrors,
) -> tuple[Consultation, TreatmentPlan] | None:
    """Screen, plan and price; keep the consultation. None (and ``errors``) if refused."""
    _check_answers(typed, errors)
    consulted = date_field(typed["consultation_date"], "consultation_date", errors)
    start = date_field(typed["start"], "start", errors)
    sessions = _whole_number(typed, "sessions", 1, 10, errors)
    interval = _whole_number(typed, "interval_days", 1, 365, errors)
    practitioner_id = _whole_number(typed, "practitioner_id", 1, 2**31 - 1, errors)
    if errors:
        errors.summary = errors.summary or "check the fields marked below"
        return None
    # Stored as the domain read them: typed values, not the form's strings.
    answers = client_from_mapping(_answers(typed)).to_dict()
    try:
        return keep_consultation(
            db,
            page.scope,
            domain_policy(request),
            client.id,
            ConsultationIn(
                answers=answers,
                consultation_date=consulted,
                start=start,
                sessions=sessions,
                interval_days=interval,
                practitioner_id=practitioner_id,
                experience=typed["experience"] or None,
                clinic_tier=typed["clinic_tier"] or "standard",
            ),
        )
    except PointillistError as exc:
        errors.add(exc)
        return None


@router.get("/clients/{client_id}/consultations/{consultation_id}")
def verdict(
    request: Request, client_id: PathId, consultation_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    client = records.get_client(db, page.scope, client_id)
    consultation = records.get_clinical(db, page.scope, Consultation, consultation_id)
    if consultation.client_id != client.id:
        raise NotFound(f"no consultation {consultation_id} for this client")
    plans = [
        p
        for p in records.list_for_client(db, page.scope, TreatmentPlan, client.id)
        if p.consultation_id == consultation.id
    ]
    screening = consultation.screening
    return render(
        request,
        "consultation/verdict.html",
        {
            "client": client,
            "consultation": consultation,
            "screening": screening,
            "outcome_words": OUTCOME_WORDS,
            "plan": plans[-1] if plans else None,
            "pattern_svg": pattern_svg,
            "pattern_labels": LABELS,
            "condition_labels": CONDITION_LABELS,
            "referrals": sorted(
                {f["refer_to"] for f in screening.get("findings", []) if f.get("refer_to")}
            ),
        },
    )
