"""One router per resource; :data:`ROUTERS` is the order they appear in the OpenAPI."""

from __future__ import annotations

from fastapi import APIRouter

from pointillist.web.routers import (
    audit,
    auth,
    bottles,
    clients,
    clinic,
    consents,
    consultations,
    health,
    photos,
    plans,
    practitioners,
    reminders,
    sessions,
    simulations,
    users,
)

ROUTERS: list[APIRouter] = [
    health.router,
    auth.router,
    clinic.router,
    users.router,
    practitioners.router,
    clients.router,
    consultations.router,
    consents.router,
    photos.router,
    simulations.router,
    plans.router,
    sessions.router,
    bottles.router,
    reminders.router,
    audit.router,
]
