"""The one page the server has: sign in, see who you are, sign out.

Served with a strict Content-Security-Policy (scripts and styles from this server only),
so that even a stored value that slipped into the page could not run as script.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    html = resources.files("pointillist.web").joinpath("static/index.html").read_text("utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})
