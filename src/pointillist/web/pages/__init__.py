"""The clinic app's pages: server-rendered HTML (Jinja2) with HTMX, over the same store
functions as the API. See :mod:`pointillist.web.pages._common` for the pattern."""

from __future__ import annotations

from fastapi import APIRouter

from pointillist.web.pages import auth, clients, consents, consultation, photos, plan, preview

PAGE_ROUTERS: list[APIRouter] = [
    auth.router,
    clients.router,
    consultation.router,
    photos.router,
    plan.router,
    consents.router,
    preview.router,
]
