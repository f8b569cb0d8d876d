"""Treatment plans: the snapshot of sessions, aftercare and quote agreed with a client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from pointillist.store import records
from pointillist.store.models import TreatmentPlan
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import NOT_FOUND, Out, PathId

router = APIRouter(tags=["plans"])


class PlanOut(Out):
    id: int
    client_id: int
    consultation_id: int | None
    snapshot: dict[str, Any] = Field(
        description="The plan as `pointillist plan --format json` gives it: screening, area, "
        "sessions, aftercare, quote, touch_up_date."
    )
    created_at: datetime


@router.get(
    "/api/clients/{client_id}/plans",
    response_model=list[PlanOut],
    summary="A client's plans",
    responses=NOT_FOUND,
)
def list_plans(client_id: PathId, actor: CurrentActor, db: DbSession) -> list[TreatmentPlan]:
    """Oldest first (clinical roles only). Plans are made by POSTing a consultation."""
    return records.list_for_client(db, actor.scope, TreatmentPlan, client_id)


@router.get("/api/plans/{plan_id}", response_model=PlanOut, summary="A plan", responses=NOT_FOUND)
def get_plan(plan_id: PathId, actor: CurrentActor, db: DbSession) -> TreatmentPlan:
    """One plan (clinical roles; the read is audited)."""
    return records.get_clinical(db, actor.scope, TreatmentPlan, plan_id)
