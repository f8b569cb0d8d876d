"""The clinic app's pages: server-rendered HTML (Jinja2) with HTMX, over the same store
functions as the API. See :mod:`pointillist.web.pages._common` for the pattern."""

from __future__ import annotations

from fastapi import APIRouter

from pointillist.web.pages import (
    appointments,
    auth,
    clients,
    clinic,
    consents,
    consultation,
    handout,
    messages,
    photos,
    plan,
    preview,
    sessions,
)

PAGE_ROUTERS: list[APIRouter] = [
    auth.router,
    clients.router,
    appointments.router,
    sessions.router,
    clinic.router,
    consultation.router,
    photos.router,
    plan.router,
    consents.router,
    preview.router,
    handout.router,
    messages.router,
]
