"""Practitioners: licence, experience and speed (owners manage them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from pointillist.domain.pricing import experience_levels
from pointillist.errors import PointillistError
from pointillist.store import clinic as clinics
from pointillist.store.models import Practitioner
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import NOT_FOUND, BodyId, In, Out, PathId, refuse_null
from pointillist.web.routers.consultations import domain_policy

router = APIRouter(prefix="/api/practitioners", tags=["practitioners"])


class PractitionerOut(Out):
    id: int
    user_id: int | None = Field(description="The practitioner's sign-in account, if any.")
    name: str
    licence_number: str | None
    licence_authority: str | None
    licence_expires_on: date | None = Field(
        description="Last day of the licence: no session can be booked after it."
    )
    experience_tier: str | None
    impressions_per_minute: float | None
    is_active: bool
    created_at: datetime


class PractitionerIn(In):
    name: str = Field(min_length=1, max_length=200)
    licence_number: str | None = Field(default=None, max_length=100)
    licence_authority: str | None = Field(default=None, max_length=200)
    licence_expires_on: date | None = None
    experience_tier: str | None = Field(
        default=None,
        max_length=50,
        description="Price tier of their work: junior, standard or senior (pricing.toml).",
    )
    impressions_per_minute: float | None = Field(default=None, gt=0)
    user_id: BodyId | None = None


class PractitionerPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    licence_number: str | None = Field(default=None, max_length=100)
    licence_authority: str | None = Field(default=None, max_length=200)
    licence_expires_on: date | None = None
    experience_tier: str | None = Field(default=None, max_length=50)
    impressions_per_minute: float | None = Field(default=None, gt=0)
    is_active: bool | None = None
    user_id: BodyId | None = None

    _not_null = refuse_null("name", "is_active")


def _check_tier(tier: str | None, request: Request) -> None:
    # The tier prices the quote of every consultation this practitioner gives: refuse a
    # typo now rather than fail at the next consultation.
    levels = experience_levels(domain_policy(request).pricing)
    if tier is not None and tier not in levels:
        raise PointillistError(
            f"experience tier {tier!r} is unknown; use one of {', '.join(levels)}",
            field="experience_tier",
        )


@router.get("", response_model=list[PractitionerOut], summary="List practitioners")
def list_practitioners(
    actor: CurrentActor,
    db: DbSession,
    active_only: Annotated[bool, Query(description="Leave out inactive practitioners.")] = False,
) -> list[Practitioner]:
    """The clinic's practitioners."""
    return clinics.list_practitioners(db, actor.scope, active_only=active_only)


@router.post(
    "", response_model=PractitionerOut, status_code=201, summary="Add a practitioner (owner)"
)
def create_practitioner(
    body: PractitionerIn, actor: CurrentActor, db: DbSession, request: Request
) -> Practitioner:
    """Add a practitioner with their licence; link ``user_id`` to their sign-in account.
    The experience tier must be one the price table knows (junior, standard, senior)."""
    _check_tier(body.experience_tier, request)
    return clinics.create_practitioner(db, actor.scope, **body.model_dump())


@router.get(
    "/{practitioner_id}",
    response_model=PractitionerOut,
    summary="A practitioner",
    responses=NOT_FOUND,
)
def get_practitioner(practitioner_id: PathId, actor: CurrentActor, db: DbSession) -> Practitioner:
    """One practitioner of the clinic."""
    return clinics.get_practitioner(db, actor.scope, practitioner_id)


@router.patch(
    "/{practitioner_id}",
    response_model=PractitionerOut,
    summary="Change a practitioner (owner)",
    responses=NOT_FOUND,
)
def update_practitioner(
    practitioner_id: PathId,
    body: PractitionerPatch,
    actor: CurrentActor,
    db: DbSession,
    request: Request,
) -> Practitioner:
    """Record a renewed licence, a new tier or speed. Only the fields sent are changed."""
    _check_tier(body.experience_tier, request)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    return clinics.update_practitioner(db, actor.scope, practitioner_id, **changes)
