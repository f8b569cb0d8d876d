"""Consultations: a client's answers in; screening, plan and quote out, kept as a snapshot.

The answers go through the same domain pipeline as ``pointillist plan``
(:func:`pointillist.domain.consult`) and the result is stored in the JSON shape of
:func:`pointillist.reports.plan_json.plan_to_dict`, so the record shows exactly what was
decided that day even after the clinic's rules or prices change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy.orm import Session

from pointillist.domain import PlanRequest, client_from_mapping, consult
from pointillist.domain.policy import ClinicPolicy
from pointillist.reports.plan_json import plan_to_dict
from pointillist.store import clinic as clinics
from pointillist.store import records
from pointillist.store.models import Consultation, TreatmentPlan
from pointillist.store.scope import Scope
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import NOT_FOUND, BodyId, In, Out, PathId
from pointillist.web.routers.plans import PlanOut

router = APIRouter(tags=["consultations"])


class ConsultationIn(In):
    answers: dict[str, Any] = Field(
        description="The client's answers, keyed as in a client file: pattern (e.g. "
        "norwood-4), sex, age, fitzpatrick or ita_deg, head_circumference_cm, conditions "
        "(e.g. ['keloid-history']), patch_count, largest_patch_cm2, scar_length_cm, "
        "scar_area_cm2.",
        examples=[{"pattern": "norwood-4", "sex": "male", "age": 38, "fitzpatrick": 3}],
    )
    consultation_date: date | None = Field(default=None, description="Default: today.")
    start: date | None = Field(default=None, description="Preferred first session date.")
    sessions: int | None = Field(default=None, ge=1, le=10, description="Number of sessions.")
    interval_days: int | None = Field(default=None, ge=1, le=365, description="Days between.")
    practitioner_id: BodyId | None = Field(
        default=None, description="Who consulted; their experience tier prices the quote."
    )
    experience: str | None = Field(
        default=None, description="Price tier of the practitioner (default: theirs, or standard)."
    )
    clinic_tier: str = Field(default="standard", description="Price tier of the clinic.")


class ConsultationOut(Out):
    id: int
    client_id: int
    practitioner_id: int | None
    answers: dict[str, Any]
    screening: dict[str, Any] = Field(description="Screening result as decided then.")
    rules_version: str
    created_at: datetime


class ConsultationResult(Out):
    consultation: ConsultationOut
    plan: PlanOut = Field(description="The plan and quote snapshot kept with it.")


def domain_policy(request: Request) -> ClinicPolicy:
    """The consultation policy ``serve`` was given (its --clinic and --rules files, or the
    packaged tables), loaded and checked once per app. Each clinic's own settings are laid
    over it where it is used (:func:`keep_consultation`)."""
    policy: ClinicPolicy = request.app.state.consult_policy
    return policy


@router.post(
    "/api/clients/{client_id}/consultations",
    response_model=ConsultationResult,
    status_code=201,
    summary="Run and keep a consultation",
    responses=NOT_FOUND,
)
def create_consultation(
    client_id: PathId,
    body: ConsultationIn,
    actor: CurrentActor,
    db: DbSession,
    request: Request,
) -> dict[str, Any]:
    """Screen the answers, plan the sessions and price them; keep the answers, the
    screening and the whole plan and quote. A declined screening is kept too (with no
    sessions and no quote). Answers the pipeline refuses give 422 naming the field."""
    consultation, stored_plan = keep_consultation(
        db, actor.scope, domain_policy(request), client_id, body
    )
    return {"consultation": consultation, "plan": stored_plan}


@router.get(
    "/api/clients/{client_id}/consultations",
    response_model=list[ConsultationOut],
    summary="A client's consultations",
    responses=NOT_FOUND,
)
def list_consultations(client_id: PathId, actor: CurrentActor, db: DbSession) -> list[Consultation]:
    """Oldest first (clinical roles only)."""
    return records.list_for_client(db, actor.scope, Consultation, client_id)


@router.get(
    "/api/consultations/{consultation_id}",
    response_model=ConsultationOut,
    summary="A consultation",
    responses=NOT_FOUND,
)
def get_consultation(consultation_id: PathId, actor: CurrentActor, db: DbSession) -> Consultation:
    """One consultation (clinical roles; the read is audited)."""
    return records.get_clinical(db, actor.scope, Consultation, consultation_id)


def keep_consultation(
    db: Session, scope: Scope, policy: ClinicPolicy, client_id: int, body: ConsultationIn
) -> tuple[Consultation, TreatmentPlan]:
    """Run the consultation pipeline on ``body`` and keep the consultation and its plan
    snapshot (the API and the app's consultation page both come here)."""
    scope.require("clinical")
    # The clinic's settings page (hours, currency, tax, prices) has the last word.
    policy = clinics.clinic_policy(clinics.get_clinic(db, scope), policy)
    experience = body.experience
    if body.practitioner_id is not None:
        practitioner = clinics.get_practitioner(db, scope, body.practitioner_id)
        experience = experience or practitioner.experience_tier
    profile = client_from_mapping(body.answers)
    plan = consult(
        profile,
        PlanRequest(
            consultation_date=body.consultation_date or date.today(),
            start=body.start,
            sessions=body.sessions,
            interval_days=body.interval_days,
            experience=experience or "standard",
            clinic_tier=body.clinic_tier,
        ),
        policy,
    )
    snapshot = plan_to_dict(plan)
    consultation = records.add_consultation(
        db,
        scope,
        client_id,
        answers=body.answers,
        screening=snapshot["screening"],
        rules_version=plan.screening.rules_version,
        practitioner_id=body.practitioner_id,
    )
    stored_plan = records.add_plan(
        db, scope, client_id, snapshot=snapshot, consultation_id=consultation.id
    )
    return consultation, stored_plan
