"""The clinic, for its owner: settings, users and roles, and the audit log.

Settings are the clinic's name and licence (its expiry is warned about on every page),
its opening hours and closed days, currency, tax and prices. They are kept in the clinic's
record and laid over the policy files ``serve`` was given, which the page lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pointillist.domain.plan import WEEKDAYS
from pointillist.domain.policy import ClinicPolicy
from pointillist.domain.pricing import experience_levels
from pointillist.errors import PointillistError
from pointillist.store import audit
from pointillist.store import clinic as clinics
from pointillist.store.models import ROLES
from pointillist.web.deps import AppSettings, DbSession
from pointillist.web.pages._common import (
    FormErrors,
    Page,
    SignedIn,
    date_field,
    form_text,
    redirect,
    render,
)
from pointillist.web.routers._common import PathId
from pointillist.web.routers.consultations import domain_policy

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 200

#: Setting fields of the form, with the words used in messages.
PRICE_FIELDS = ("base_fee", "rate_per_cm2")


def _settings_form(policy: ClinicPolicy, clinic: Any) -> dict[str, Any]:
    calendar = policy.plan["calendar"]
    pricing = policy.pricing
    return {
        "name": clinic.name,
        "licence_number": clinic.licence_number or "",
        "licence_authority": clinic.licence_authority or "",
        "licence_expires_on": (
            clinic.licence_expires_on.isoformat() if clinic.licence_expires_on else ""
        ),
        "opening_time": str(calendar.get("opening_time", "09:00"))[:5],
        "closing_time": str(calendar.get("closing_time", "18:00"))[:5],
        "closed_weekdays": [str(d).lower() for d in calendar.get("closed_weekdays", [])],
        "closed_dates": "\n".join(str(d) for d in calendar.get("closed_dates", [])),
        "currency": str(pricing["currency"]),
        "tax_rate": f"{float(pricing['tax_rate']) * 100:g}",
        "base_fee": f"{float(pricing['base_fee']):g}",
        "rate_per_cm2": f"{float(pricing['rate_per_cm2']):g}",
        "deposit_fraction": f"{float(pricing['deposit_fraction']) * 100:g}",
    }


def _render_settings(
    request: Request,
    page: Page,
    db: DbSession,
    settings: AppSettings,
    form: dict[str, Any] | None,
    errors: FormErrors,
    *,
    status_code: int = 200,
) -> Response:
    page.scope.require("manage_clinic")
    clinic = clinics.get_clinic(db, page.scope)
    served = domain_policy(request)
    form = form or _settings_form(clinics.clinic_policy(clinic, served), clinic)
    files = [
        ("Clinic policy (plan, zones, aftercare, prices)", settings.clinic_file),
        ("Screening rules", settings.rules_file),
        ("Pigment catalogue", settings.pigments_file),
        ("Records policy (roles, retention, consent text)", settings.records_override),
    ]
    context = {
        "form": form,
        "errors": errors,
        "weekdays": WEEKDAYS,
        "files": files,
        "own_files": [clinics.POLICY_FILES[k] for k in sorted(clinic.policy_files or {})],
        "rules_version": str(served.rules.get("version", "")),
        "own_settings": sorted(clinic.settings or {}),
    }
    return render(request, "clinic/settings.html", context, status_code=status_code)


@router.get("/clinic")
def settings_page(
    request: Request, page: SignedIn, db: DbSession, settings: AppSettings
) -> Response:
    return _render_settings(request, page, db, settings, None, FormErrors())


@router.post("/clinic")
async def save_settings(
    request: Request, page: SignedIn, db: DbSession, settings: AppSettings
) -> Response:
    page.scope.require("manage_clinic")
    form = await request.form()
    text_keys = (
        "name",
        "licence_number",
        "licence_authority",
        "licence_expires_on",
        "opening_time",
        "closing_time",
        "closed_dates",
        "currency",
        "tax_rate",
        "base_fee",
        "rate_per_cm2",
        "deposit_fraction",
    )
    typed: dict[str, Any] = {key: form_text(form, key) for key in text_keys}
    typed["closed_weekdays"] = [str(d) for d in form.getlist("closed_weekdays")]
    errors = FormErrors()
    expires = date_field(typed["licence_expires_on"], "licence_expires_on", errors)
    own = {
        "opening_time": typed["opening_time"],
        "closing_time": typed["closing_time"],
        "closed_weekdays": typed["closed_weekdays"],
        "closed_dates": typed["closed_dates"].split(),
        "currency": typed["currency"],
        "tax_rate": _percent(typed["tax_rate"], "tax_rate", errors),
        "deposit_fraction": _percent(typed["deposit_fraction"], "deposit_fraction", errors),
        **{key: typed[key] for key in PRICE_FIELDS},
    }
    if not errors:
        clinic = clinics.get_clinic(db, page.scope)
        base = clinics.policy_before_settings(clinic, domain_policy(request))
        served = _settings_form(base, clinic)
        # Keep only what differs from the served policy, so that a later change to the
        # policy files still reaches every setting the owner did not change here.
        own = {key: None if _same(key, value, served) else value for key, value in own.items()}
        try:
            clinics.update_clinic(
                db,
                page.scope,
                name=typed["name"],
                licence_number=typed["licence_number"] or None,
                licence_authority=typed["licence_authority"] or None,
                licence_expires_on=expires,
            )
            clinics.update_clinic_settings(db, page.scope, base, own)
        except PointillistError as exc:
            errors.add(exc)
            errors.fields.setdefault(exc.field or "form", exc.message)
        else:
            return redirect(request, "/clinic", flash="Clinic settings saved.")
    errors.summary = errors.summary or "check the fields marked below"
    db.rollback()
    return _render_settings(request, page, db, settings, typed, errors, status_code=422)


def _same(key: str, value: Any, served: dict[str, Any]) -> bool:
    base = served[key]
    if key == "closed_dates":
        return sorted(value) == sorted(base.split())
    if key == "closed_weekdays":
        return sorted(value) == sorted(base)
    if key in ("tax_rate", "deposit_fraction"):
        return value is not None and abs(value * 100 - float(base)) < 1e-9
    if key in PRICE_FIELDS:
        try:
            return float(value) == float(base)
        except ValueError:
            return False
    return str(value).strip().upper() == str(base).upper()


def _percent(text: str, key: str, errors: FormErrors) -> Any:
    """A percentage typed on the form (21 for 21%) as the fraction the policy keeps."""
    try:
        return float(text) / 100
    except ValueError:
        errors.fields[key] = f"{text!r} is not a number; give a percentage such as 21"
        return None


# --- policy files ----------------------------------------------------------------------

#: The policy files on the policy page: kind, heading, what it holds, packaged file stem.
POLICY_PAGES = (
    (
        "clinic",
        "Clinic policy",
        "Tables [plan], [zones], [aftercare] and [pricing]: write only what differs "
        "(e.g. [pricing] base_fee = 450); it is merged key by key over the file below.",
        None,
    ),
    (
        "rules",
        "Screening rules",
        "A whole rule set: it replaces the rules below (copy them and change what you need).",
        "screening_rules",
    ),
    (
        "pigments",
        "Pigment catalogue",
        "Shades under [[generic_shades]] and [[brand_shades]], and [recommendation]: "
        "written tables are merged over the file below, a list of shades replaces its list.",
        "pigments",
    ),
)


def pigment_override(request: Request, clinic: Any) -> Any:
    """The pigment catalogue in force for ``clinic``: its own (from the policy page) merged
    over the file ``serve`` was given, else that file (None: the packaged catalogue)."""
    from pointillist.data import load_table, merge_tables, parse_toml_text

    served = request.app.state.settings.pigments_file
    own = (clinic.policy_files or {}).get("pigments")
    if not own:
        return served
    return merge_tables(
        load_table("pigments", served), parse_toml_text(own, "pigment catalogue"), "pigments"
    )


def _check_pigments(request: Request, clinic: Any, text: str) -> None:
    """Check a pigment catalogue typed on the page: the file's model, then the catalogue
    itself (unique ids, brand shades fitted to their measured dots)."""
    from pointillist.color.dot import catalogue
    from pointillist.data import load_table, merge_tables, parse_toml_text

    if not text.strip():
        return
    source = "pigment catalogue"
    served = request.app.state.settings.pigments_file
    try:
        catalogue(
            merge_tables(load_table("pigments", served), parse_toml_text(text, source), source)
        )
    except PointillistError as exc:
        message = exc.message.replace("the clinic's pigments", source)
        if not message.startswith(source):
            message = f"{source}: {message}"
        raise PointillistError(message, field="pigments") from None


def _served_text(settings: Any, kind: str, stem: str | None) -> tuple[str, str]:
    """What the clinic's own file is laid over: (where it comes from, its text)."""
    from importlib import resources

    path = {"clinic": settings.clinic_file, "rules": settings.rules_file}.get(
        kind, settings.pigments_file
    )
    if path is not None:
        try:
            return f"the file serve was given: {path}", Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            return f"the file serve was given: {path}", f"(cannot read it: {exc.strerror})"
    if stem is None:
        return "the packaged tables (serve was given no --clinic file)", ""
    text = resources.files("pointillist.data").joinpath(f"{stem}.toml").read_text("utf-8")
    return f"the packaged {stem}.toml", text


def _render_policy(
    request: Request,
    page: Page,
    db: DbSession,
    settings: AppSettings,
    typed: dict[str, str] | None,
    errors: FormErrors,
    *,
    status_code: int = 200,
) -> Response:
    page.scope.require("manage_clinic")
    clinic = clinics.get_clinic(db, page.scope)
    own = dict(clinic.policy_files or {})
    files = []
    for kind, title, hint, stem in POLICY_PAGES:
        source, served_text = _served_text(settings, kind, stem)
        files.append(
            {
                "kind": kind,
                "title": title,
                "hint": hint,
                "source": source,
                "served_text": served_text,
                "text": (typed or {}).get(kind, own.get(kind, "")),
                "kept": bool(own.get(kind)),
            }
        )
    context = {"files": files, "errors": errors}
    return render(request, "clinic/policy.html", context, status_code=status_code)


@router.get("/clinic/policy")
def policy_page(request: Request, page: SignedIn, db: DbSession, settings: AppSettings) -> Response:
    return _render_policy(request, page, db, settings, None, FormErrors())


@router.post("/clinic/policy")
async def save_policy(
    request: Request, page: SignedIn, db: DbSession, settings: AppSettings
) -> Response:
    page.scope.require("manage_clinic")
    form = await request.form()
    kind = form_text(form, "kind")
    # Not form_text: the TOML's own line breaks and indentation are kept as typed.
    text = str(form.get("text") or "").replace("\r\n", "\n")
    errors = FormErrors()
    clinic = clinics.get_clinic(db, page.scope)
    try:
        if kind == "pigments":
            _check_pigments(request, clinic, text)
        dropped = clinics.update_policy_file(db, page.scope, domain_policy(request), kind, text)
    except PointillistError as exc:
        errors.add(exc)
        errors.fields.setdefault(kind, exc.message)
        db.rollback()
        return _render_policy(request, page, db, settings, {kind: text}, errors, status_code=422)
    words = clinics.POLICY_FILES[kind]
    message = f"The clinic's {words} saved." if text.strip() else f"The clinic's {words} removed."
    if dropped:
        message += (
            " It now sets "
            + ", ".join(key.replace("_", " ") for key in dropped)
            + " (the settings page's own values for them were dropped)."
        )
    return redirect(request, "/clinic/policy", flash=message)


# --- users and roles -------------------------------------------------------------------


@dataclass(frozen=True)
class RoleInfo:
    """A role and what it may do, in words (``records.toml``)."""

    name: str
    permissions: list[str]


def _render_users(
    request: Request,
    page: Page,
    db: DbSession,
    form: dict[str, str],
    errors: FormErrors,
    *,
    practitioner_form: dict[str, str] | None = None,
    practitioner_errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    policy = page.scope.policy
    roles = [
        RoleInfo(
            role,
            [policy.permission_labels[p] for p in policy.permission_labels if policy.can(role, p)],
        )
        for role in ROLES
    ]
    today = date.today()
    practitioners = clinics.list_practitioners(db, page.scope)
    context = {
        "users": clinics.list_users(db, page.scope),
        "roles": roles,
        "form": form,
        "errors": errors,
        "min_password": policy.min_password_length,
        "practitioners": [
            (p, clinics.practitioner_licence_problem(p, today)) for p in practitioners
        ],
        "tiers": experience_levels(domain_policy(request).pricing),
        "practitioner_form": practitioner_form or {},
        "practitioner_errors": practitioner_errors or FormErrors(),
    }
    return render(request, "clinic/users.html", context, status_code=status_code)


@router.get("/clinic/users")
def users_page(request: Request, page: SignedIn, db: DbSession) -> Response:
    return _render_users(request, page, db, {"role": "practitioner"}, FormErrors())


@router.post("/clinic/users")
async def add_user(request: Request, page: SignedIn, db: DbSession) -> Response:
    form = await request.form()
    typed = {k: form_text(form, k) for k in ("email", "name", "role")}
    password = str(form.get("password") or "")
    errors = FormErrors()
    try:
        user = clinics.create_user(
            db,
            page.scope,
            email=typed["email"],
            name=typed["name"],
            role=typed["role"],
            password=password,
        )
    except PointillistError as exc:
        errors.add(exc)
        errors.fields.setdefault(exc.field or "password", exc.message)
    else:
        return redirect(
            request, "/clinic/users", flash=f"{user.name} can now sign in as {user.role}."
        )
    db.rollback()
    # The password is not sent back into the page: it is typed again.
    return _render_users(request, page, db, typed, errors, status_code=422)


@router.post("/clinic/users/{user_id}")
async def change_user(request: Request, user_id: PathId, page: SignedIn, db: DbSession) -> Response:
    form = await request.form()
    role = form_text(form, "role")
    active = form_text(form, "is_active")
    try:
        user = clinics.update_user(
            db,
            page.scope,
            user_id,
            role=role or None,
            is_active=(active == "yes") if active else None,
        )
    except PointillistError as exc:
        db.rollback()
        return _render_users(
            request,
            page,
            db,
            {"role": "practitioner"},
            FormErrors(summary=exc.message),
            status_code=409,
        )
    state = "active" if user.is_active else "deactivated"
    return redirect(request, "/clinic/users", flash=f"{user.name}: {user.role}, {state}.")


# --- practitioners and their licences ---------------------------------------------------


PRACTITIONER_KEYS = (
    "name",
    "user_id",
    "licence_number",
    "licence_authority",
    "licence_expires_on",
    "experience_tier",
)


@router.post("/clinic/practitioners")
async def save_practitioner(request: Request, page: SignedIn, db: DbSession) -> Response:
    """Add a practitioner, or (with ``practitioner_id``) record a renewed licence."""
    form = await request.form()
    typed = {key: form_text(form, key) for key in (*PRACTITIONER_KEYS, "practitioner_id")}
    errors = FormErrors()
    expires = date_field(typed["licence_expires_on"], "licence_expires_on", errors)
    tiers = experience_levels(domain_policy(request).pricing)
    if typed["experience_tier"] and typed["experience_tier"] not in tiers:
        errors.fields["experience_tier"] = f"choose one of {', '.join(tiers)}"
    if not errors:
        values: dict[str, Any] = {
            "licence_number": typed["licence_number"] or None,
            "licence_authority": typed["licence_authority"] or None,
            "licence_expires_on": expires,
        }
        try:
            if typed["practitioner_id"].isdigit():
                changed = clinics.update_practitioner(
                    db, page.scope, int(typed["practitioner_id"]), **values
                )
                message = f"{changed.name}'s licence recorded."
            else:
                added = clinics.create_practitioner(
                    db,
                    page.scope,
                    name=typed["name"],
                    user_id=int(typed["user_id"]) if typed["user_id"].isdigit() else None,
                    experience_tier=typed["experience_tier"] or None,
                    **values,
                )
                message = f"{added.name} can now be booked."
        except PointillistError as exc:
            errors.add(exc)
        else:
            return redirect(request, "/clinic/users", flash=message)
    errors.summary = errors.summary or "check the fields marked below"
    db.rollback()
    if typed["practitioner_id"]:
        # A renewal: said above the tables, the add form stays empty.
        problem = "; ".join(errors.fields.values()) or errors.summary
        return _render_users(
            request,
            page,
            db,
            {"role": "practitioner"},
            FormErrors(summary=problem),
            status_code=422,
        )
    return _render_users(
        request,
        page,
        db,
        {"role": "practitioner"},
        FormErrors(),
        practitioner_form=typed,
        practitioner_errors=errors,
        status_code=422,
    )


# --- audit log -------------------------------------------------------------------------


@router.get("/clinic/audit")
def audit_page(
    request: Request,
    page: SignedIn,
    db: DbSession,
    entity: Annotated[str, Query(max_length=50)] = "",
    entity_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    found = audit.entries(
        db, page.scope, entity=entity.strip() or None, entity_id=entity_id, limit=AUDIT_PAGE
    )
    context = {
        "entries": found,
        "form": {"entity": entity, "entity_id": str(entity_id or "")},
        "limit": AUDIT_PAGE,
        "today": date.today(),
    }
    return render(request, "clinic/audit.html", context)
