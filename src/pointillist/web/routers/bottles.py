"""Pigment bottles (brand, shade, lot, expiry) and lot recall."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from pointillist.store import sessions as booking
from pointillist.store.errors import NotFound
from pointillist.store.models import PigmentBottle
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import NOT_FOUND, In, Out, PathId, Problem

router = APIRouter(tags=["bottles"])


class BottleOut(Out):
    id: int
    brand: str
    shade: str
    lot: str = Field(description="Batch number from the label (REACH Annex XVII entry 75).")
    expires_on: date
    opened_on: date | None
    created_at: datetime


class BottleIn(In):
    brand: str = Field(min_length=1, max_length=100)
    shade: str = Field(min_length=1, max_length=100)
    lot: str = Field(min_length=1, max_length=100)
    expires_on: date = Field(description="An expired bottle is refused (409).")
    opened_on: date | None = None


class RecallSession(Out):
    session_id: int
    scheduled_on: date
    status: str
    bottle_id: int
    brand: str
    shade: str
    lot: str


class RecallClient(Out):
    client_id: int
    name: str
    email: str | None
    phone: str | None
    sessions: list[RecallSession]


class Recall(Out):
    lot: str
    bottles: list[BottleOut] = Field(description="The clinic's bottles of this lot.")
    clients: list[RecallClient] = Field(description="Everyone who received it, to contact.")
    session_count: int


@router.get("/api/bottles", response_model=list[BottleOut], summary="List pigment bottles")
def list_bottles(
    actor: CurrentActor,
    db: DbSession,
    lot: Annotated[str | None, Query(description="Only this lot.")] = None,
    usable_on: Annotated[date | None, Query(description="Only bottles in date that day.")] = None,
) -> list[PigmentBottle]:
    """The clinic's stock."""
    return booking.list_bottles(db, actor.scope, lot=lot, usable_on=usable_on)


@router.post(
    "/api/bottles",
    response_model=BottleOut,
    status_code=201,
    summary="Add a pigment bottle",
    responses={409: {"model": Problem, "description": "The bottle has expired."}},
)
def add_bottle(body: BottleIn, actor: CurrentActor, db: DbSession) -> PigmentBottle:
    """Add a bottle to stock, with its lot from the label."""
    return booking.add_bottle(db, actor.scope, **body.model_dump())


@router.get(
    "/api/bottles/{bottle_id}", response_model=BottleOut, summary="A bottle", responses=NOT_FOUND
)
def get_bottle(bottle_id: PathId, actor: CurrentActor, db: DbSession) -> PigmentBottle:
    """One bottle of the clinic."""
    return booking.get_bottle(db, actor.scope, bottle_id)


@router.get(
    "/api/lots/{lot}/recall",
    response_model=Recall,
    summary="Lot recall: who received this lot",
    responses=NOT_FOUND,
)
def recall(
    lot: str,
    actor: CurrentActor,
    db: DbSession,
    brand: Annotated[str | None, Query(description="Narrow to one brand.")] = None,
) -> dict[str, Any]:
    """Every client and session that received pigment from ``lot`` (case-insensitive),
    grouped by client, with their contact details. Cancelled sessions are left out;
    planned ones are in, so the bottle can be swapped before the day. 404 if the clinic
    never had a bottle of this lot (check the number on the notice). Audited."""
    bottles = [
        b
        for b in booking.list_bottles(db, actor.scope)
        if b.lot.lower() == lot.strip().lower()
        and (brand is None or b.brand.lower() == brand.strip().lower())
    ]
    if not bottles:
        raise NotFound(f"no bottle of lot {lot.strip()!r} in your clinic; check the lot number")
    hits = booking.recall_lot(db, actor.scope, lot, brand=brand)
    clients: dict[int, dict[str, Any]] = {}
    for hit in hits:
        entry = clients.setdefault(
            hit.client_id,
            {
                "client_id": hit.client_id,
                "name": hit.client_name,
                "email": hit.client_email,
                "phone": hit.client_phone,
                "sessions": [],
            },
        )
        entry["sessions"].append(
            {
                "session_id": hit.session_id,
                "scheduled_on": hit.scheduled_on,
                "status": hit.status,
                "bottle_id": hit.bottle_id,
                "brand": hit.brand,
                "shade": hit.shade,
                "lot": hit.lot,
            }
        )
    return {
        "lot": lot.strip(),
        "bottles": bottles,
        "clients": list(clients.values()),
        "session_count": len(hits),
    }
