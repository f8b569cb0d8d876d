"""What every page shares: templates, the signed-in user, CSRF, flash messages, errors.

The pattern every page module follows:

- a module per area (``clients``, ``consultation`` ...) with ``router = APIRouter()`` of
  ``include_in_schema=False`` routes, listed in :data:`pointillist.web.pages.PAGE_ROUTERS`;
- a handler takes ``page: SignedIn`` (the user, their scope and the CSRF token; a visitor
  who is not signed in is sent to the sign-in page, then back) and the database session,
  calls the store and the domain exactly as the API routers do, and returns
  :func:`render` of a template that extends ``base.html``;
- a form posts (``method=post``, with ``{{ csrf_field() }}``) to the page's own address;
  on success the handler redirects with :func:`redirect` and a flash message
  (post/redirect/get); on a user error it renders the same template again with the
  values typed and the message next to the field (:class:`FormErrors`), status 422;
- HTMX requests carry the CSRF token in the ``X-CSRF-Token`` header (``static/app.js``
  adds it) and get the fragment they ask for.

Errors the store raises on a page (another clinic's record: 404; a role that may not:
403) are rendered as an error page in the layout, not as JSON
(:func:`error_page`, called by :mod:`pointillist.web.errors`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from pointillist.errors import PointillistError
from pointillist.store.errors import PermissionDenied
from pointillist.store.models import User
from pointillist.store.scope import Scope
from pointillist.web.auth import Actor, live_session, records_policy, set_clinic_warning
from pointillist.web.deps import AppSettings, DbSession, Signer
from pointillist.web.security import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE

#: Scripts, styles and images from this server only; no inline script or style, so that
#: a stored value that slipped into a page could not run. ``blob:`` lets a photo chosen
#: for upload be shown before it is sent; ``data:`` the drawn signature.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
FLASH_COOKIE = "pointillist_flash"
#: The hidden form field that carries the CSRF token on plain (non-HTMX) form posts.
CSRF_FIELD = "csrf_token"

#: The app's templates, and the reports' (the client handout is one document, shown as a
#: page and printed as a PDF from the same template).
templates = Jinja2Templates(
    directory=[
        str(resources.files("pointillist.web") / "templates"),
        str(resources.files("pointillist.reports") / "templates"),
    ]
)


@dataclass(frozen=True)
class NavItem:
    """A link in the top navigation, shown to the roles that have ``permission``."""

    label: str
    href: str
    permission: str


#: The top navigation, in order. A page module that adds an area adds its entry here.
NAV: list[NavItem] = [
    NavItem("Clients", "/clients", "read_records"),
    NavItem("Appointments", "/appointments", "read_records"),
    NavItem("Stock", "/stock", "read_records"),
    NavItem("Recall", "/recall", "recall"),
    NavItem("Messages", "/messages", "manage_reminders"),
    NavItem("Clinic", "/clinic", "manage_clinic"),
]


class SignInRequired(Exception):
    """The visitor has no valid session: send them to the sign-in page."""


@dataclass
class Page:
    """The signed-in user on a page: their account, store scope and CSRF token.

    The names the layout shows are copied out of the account when the request starts:
    an error page is rendered after the request's database session has closed.
    """

    user: User
    scope: Scope
    csrf_token: str
    user_name: str
    role: str
    clinic_name: str

    @property
    def actor(self) -> Actor:
        return Actor(user=self.user, scope=self.scope)

    def can(self, permission: str) -> bool:
        return self.scope.can(permission)


def is_page_request(request: Request) -> bool:
    """True for the app's pages, False for the API, static files and health checks."""
    path = request.url.path
    if path.startswith(("/api/", "/static/", "/healthz", "/openapi.json")):
        return False
    # The pages' own scripts (the preview editor) ask for JSON and get JSON errors.
    accept = request.headers.get("accept", "")
    return not ("application/json" in accept and "text/html" not in accept)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


async def signed_in(request: Request, db: DbSession, signer: Signer, settings: AppSettings) -> Page:
    """The signed-in user of a page request; checks the CSRF token on every change.

    The token comes in the ``X-CSRF-Token`` header (HTMX) or the ``csrf_token`` form
    field (plain forms). Same session cookie as the API, so a user signed in on a page
    can also call the API from the page's scripts.
    """
    live = live_session(
        db, signer, request.cookies.get(SESSION_COOKIE), idle_s=settings.session_idle_seconds
    )
    if live is None or not live[1].is_active:
        raise SignInRequired
    claims, user = live
    if request.method not in SAFE_METHODS:
        token = request.headers.get(CSRF_HEADER)
        if token is None:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        if not signer.csrf_matches(claims, token):
            raise PermissionDenied(
                "this form has expired (the page was open too long, or you signed in again "
                "elsewhere); reload the page and send it again"
            )
    set_clinic_warning(request, user.clinic)
    page = Page(
        user=user,
        scope=Scope.for_user(user, records_policy(request)),
        csrf_token=signer.csrf_token(claims),
        user_name=user.name,
        role=user.role,
        clinic_name=user.clinic.name,
    )
    request.state.page = page
    return page


SignedIn = Annotated[Page, Depends(signed_in)]


@dataclass
class FormErrors:
    """What was wrong with a form: one message per field, and one for the whole form."""

    fields: dict[str, str] = field(default_factory=dict)
    summary: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields or self.summary)

    def add(self, exc: PointillistError) -> None:
        """Put a store or domain error next to its field (or above the form)."""
        if exc.field:
            self.fields[exc.field] = exc.message
        self.summary = exc.message


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` in the layout: user, navigation, licence warning and flash."""
    page: Page | None = getattr(request.state, "page", None)
    flash = request.cookies.get(FLASH_COOKIE)
    values = {
        "page": page,
        "nav": [item for item in NAV if page is not None and page.can(item.permission)],
        "warnings": getattr(request.state, "warnings", []),
        "flash": unquote(flash) if flash else None,
        "path": request.url.path,
        "errors": FormErrors(),
        "form": {},
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> Response:
    """See-other to ``url`` (HTMX: ``HX-Redirect``), with a message for the next page."""
    response: Response
    if is_htmx(request):
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, quote(flash), max_age=60, httponly=True, samesite="strict", path="/"
        )
    return response


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/sign-in" if target == "/" else f"/sign-in?next={quote(target, safe='')}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status_code: int, detail: str) -> Response:
    """The error answer of a page request: sign in again, or the message in the layout."""
    if status_code == 401:
        return sign_in_redirect(request)
    titles = {403: "Not allowed", 404: "Not found", 409: "Cannot change this", 413: "Too large"}
    return render(
        request,
        "error.html",
        {
            "status": status_code,
            "title": titles.get(status_code, "Cannot do that"),
            "detail": detail,
        },
        status_code=status_code,
    )


def csrf_field(page: Page | None) -> Markup:
    """The hidden CSRF field of a form (templates call ``csrf_field()``)."""
    token = page.csrf_token if page is not None else ""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


def form_text(form: Any, name: str) -> str:
    """A text field of a submitted form, stripped ('' if absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def date_field(text: str, name: str, errors: FormErrors, *, past: bool = False) -> date | None:
    """A ``YYYY-MM-DD`` field (what ``<input type=date>`` sends), or None if empty; a bad
    value is put in ``errors`` under ``name``."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.fields[name] = f"{text!r} is not a date; use the date picker or YYYY-MM-DD"
        return None
    if past and day > date.today():
        errors.fields[name] = "this date is in the future"
        return None
    return day


templates.env.globals["csrf_field"] = csrf_field
