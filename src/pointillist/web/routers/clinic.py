"""The signed-in user's clinic: its name and licence."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from pointillist.store import clinic as clinics
from pointillist.store.models import Clinic
from pointillist.web.auth import CurrentActor, set_clinic_warning
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import In, Out, refuse_null

router = APIRouter(prefix="/api/clinic", tags=["clinic"])


class ClinicOut(Out):
    id: int
    name: str
    licence_number: str | None = Field(description="Licence number from the local authority.")
    licence_authority: str | None = Field(description="The authority that issued the licence.")
    licence_expires_on: date | None = Field(description="Last day the licence is valid.")
    created_at: datetime


class ClinicPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    licence_number: str | None = Field(default=None, max_length=100)
    licence_authority: str | None = Field(default=None, max_length=200)
    licence_expires_on: date | None = None

    _not_null = refuse_null("name")


@router.get("", response_model=ClinicOut, summary="Your clinic")
def get_clinic(actor: CurrentActor, db: DbSession) -> Clinic:
    """The signed-in user's clinic (every user may read it)."""
    return clinics.get_clinic(db, actor.scope)


@router.patch("", response_model=ClinicOut, summary="Change your clinic's details (owner)")
def update_clinic(
    body: ClinicPatch, actor: CurrentActor, db: DbSession, request: Request
) -> Clinic:
    """Change the name or record a renewed licence. Only the fields sent are changed."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    updated = clinics.update_clinic(db, actor.scope, **changes)
    set_clinic_warning(request, updated)
    return updated
