"""Clinics, their staff (users and practitioners) and the licence checks on both.

The article behind this project warns against unlicensed clinics: a clinic whose licence
has expired is warned about on every page and response, and a practitioner whose licence
has expired on the day of a session cannot be booked for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pointillist.data import parse_toml_text
from pointillist.domain.appointments import ClinicHours, clinic_hours
from pointillist.domain.policy import (
    CLINIC_SETTINGS,
    ClinicPolicy,
    check_clinic_settings,
    with_clinic_file,
    with_clinic_settings,
    with_rules,
)
from pointillist.errors import PointillistError
from pointillist.store import audit
from pointillist.store.accounts import (
    EMAIL_HINT,
    check_password_strength,
    end_credentials,
    hash_password,
    is_email_address,
    normalise_email,
    verify_password,
)
from pointillist.store.errors import Conflict, GateClosed, NotFound
from pointillist.store.models import ROLES, Clinic, ConsentTemplate, Practitioner, User
from pointillist.store.policy import RecordsPolicy
from pointillist.store.scope import Scope, default_policy

CLINIC_FIELDS = ("name", "licence_number", "licence_authority", "licence_expires_on")
PRACTITIONER_FIELDS = (
    "name",
    "licence_number",
    "licence_authority",
    "licence_expires_on",
    "experience_tier",
    "impressions_per_minute",
    "is_active",
    "user_id",
)


def _text(value: str, field: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise PointillistError(f"give the {what}", field=field)
    return value


def create_clinic(
    session: Session,
    name: str,
    *,
    licence_number: str | None = None,
    licence_authority: str | None = None,
    licence_expires_on: date | None = None,
    policy: RecordsPolicy | None = None,
) -> Clinic:
    """Open a new clinic with the default consent templates (operator only: no scope)."""
    policy = policy or default_policy()
    clinic = Clinic(
        name=_text(name, "name", "clinic's name"),
        licence_number=licence_number,
        licence_authority=licence_authority,
        licence_expires_on=licence_expires_on,
    )
    session.add(clinic)
    session.flush()
    for template in policy.consent_templates:
        session.add(
            ConsentTemplate(
                clinic_id=clinic.id,
                name=template["name"],
                version=1,
                text=template["text"],
                sources=template["sources"],
            )
        )
    audit.record(session, Scope.operator(clinic.id), "create", "clinic", clinic.id)
    return clinic


def get_clinic(session: Session, scope: Scope) -> Clinic:
    """The caller's clinic."""
    clinic = session.get(Clinic, scope.clinic_id)
    if clinic is None:
        raise NotFound(f"no clinic {scope.clinic_id}")
    return clinic


def update_clinic(session: Session, scope: Scope, **changes: Any) -> Clinic:
    """Change the clinic's name or licence (owners)."""
    scope.require("manage_clinic")
    clinic = get_clinic(session, scope)
    _apply(clinic, changes, CLINIC_FIELDS)
    if "name" in changes:
        clinic.name = _text(clinic.name, "name", "clinic's name")
    audit.record(session, scope, "update", "clinic", clinic.id, fields=sorted(changes))
    return clinic


def update_clinic_settings(
    session: Session, scope: Scope, served: ClinicPolicy, changes: Mapping[str, Any]
) -> Clinic:
    """Change the clinic's own settings (owners): opening hours, closed days, currency, tax
    and prices, laid over the ``served`` policy (the files ``serve`` was given).

    A value of None removes the clinic's own setting, so the served policy's applies again.
    Every value is checked against the merged policy before anything is saved; an error
    names the field.
    """
    scope.require("manage_clinic")
    clinic = get_clinic(session, scope)
    before = dict(clinic.settings or {})
    merged = {**before, **changes}
    kept = {key: value for key, value in merged.items() if value is not None}
    with_clinic_settings(served, kept)
    clinic.settings = check_clinic_settings(kept)
    changed = sorted(
        k for k in set(before) | set(clinic.settings) if before.get(k) != clinic.settings.get(k)
    )
    audit.record(session, scope, "update", "clinic", clinic.id, fields=changed)
    return clinic


POLICY_FILES: dict[str, str] = {
    "clinic": "clinic policy",
    "rules": "screening rules",
    "pigments": "pigment catalogue",
}
"""The policy files a clinic may keep in its record, by kind, with the words for people."""


def clinic_policy(clinic: Clinic, served: ClinicPolicy) -> ClinicPolicy:
    """The policy in force for ``clinic``, most specific last: ``served`` (the packaged
    tables with the files ``serve`` was given), the clinic's own policy file and rules
    (:func:`update_policy_file`), then its settings (:func:`update_clinic_settings`)."""
    return with_clinic_settings(policy_before_settings(clinic, served), clinic.settings or {})


def policy_before_settings(clinic: Clinic, served: ClinicPolicy) -> ClinicPolicy:
    """``served`` with the clinic's own policy file and screening rules laid over it."""
    return with_policy_files(served, clinic.policy_files or {})


def with_policy_files(served: ClinicPolicy, files: Mapping[str, str]) -> ClinicPolicy:
    """``served`` with a clinic's policy file and rules (TOML text by kind) over it,
    checked: one line naming the file and the key."""
    policy = served
    if files.get("clinic"):
        policy = with_clinic_file(
            policy, parse_toml_text(files["clinic"], "clinic policy"), "clinic policy"
        )
    if files.get("rules"):
        policy = with_rules(
            policy, parse_toml_text(files["rules"], "screening rules"), "screening rules"
        )
    return policy


def update_policy_file(
    session: Session, scope: Scope, served: ClinicPolicy, kind: str, text: str
) -> list[str]:
    """Keep the clinic's own policy file of ``kind`` (owners); empty text removes it, so
    the file ``serve`` was given (or the packaged one) applies again.

    The clinic policy and rules are checked here, over ``served``; the pigment catalogue
    is checked by the caller (its model lives in the colour layer). A clinic policy that
    sets a value the settings form also sets (opening hours, prices...) takes over: the
    form's own value is dropped, so each value has one place it was last set. Returns
    the settings so dropped.
    """
    scope.require("manage_clinic")
    if kind not in POLICY_FILES:
        raise PointillistError(
            f"unknown policy file {kind!r}; use one of {', '.join(POLICY_FILES)}", field=kind
        )
    clinic = get_clinic(session, scope)
    files = dict(clinic.policy_files or {})
    text = text.strip()
    if text:
        files[kind] = text + "\n"
    else:
        files.pop(kind, None)
    try:
        with_policy_files(served, files)
    except PointillistError as exc:
        raise PointillistError(exc.message, field=kind) from None
    dropped: list[str] = []
    if kind == "clinic" and text:
        tables = parse_toml_text(text, POLICY_FILES[kind])
        own = dict(clinic.settings or {})
        for key, path in CLINIC_SETTINGS.items():
            node: Any = tables
            for step in path:
                node = node.get(step) if isinstance(node, Mapping) else None
            if node is not None and key in own:
                del own[key]
                dropped.append(key)
        clinic.settings = own
    clinic.policy_files = files
    audit.record(
        session,
        scope,
        "update",
        "clinic",
        clinic.id,
        fields=[f"policy_files.{kind}", *(f"settings.{key}" for key in dropped)],
    )
    return dropped


def opening_hours(clinic: Clinic, served: ClinicPolicy) -> ClinicHours:
    """The clinic's opening hours, closed weekdays and closed dates."""
    return clinic_hours(clinic_policy(clinic, served).plan["calendar"])


def clinic_licence_warning(
    clinic: Clinic, today: date | None = None, policy: RecordsPolicy | None = None
) -> str | None:
    """The warning every page and API response carries about the clinic's licence, if any.

    None while the licence is valid for longer than the warning period in
    ``records.toml``; a sentence to show otherwise (expired, expiring, or none recorded).
    """
    today = today or date.today()
    policy = policy or default_policy()
    expires = clinic.licence_expires_on
    if clinic.licence_number is None and expires is None:
        return "no clinic licence is recorded; add its number and expiry date to the clinic record"
    if expires is None:
        return None
    if expires < today:
        return (
            f"the clinic licence expired on {expires.isoformat()}; renew it and update the "
            "clinic record"
        )
    days_left = (expires - today).days
    if days_left <= policy.clinic_licence_warning_days:
        return (
            f"the clinic licence expires on {expires.isoformat()} (in {days_left} days); renew it"
        )
    return None


def create_user(
    session: Session,
    scope: Scope,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
) -> User:
    """Add a staff account to the caller's clinic (owners)."""
    scope.require("manage_users")
    if role not in ROLES:
        raise PointillistError(
            f"role {role!r} is unknown; use one of {', '.join(ROLES)}", field="role"
        )
    email = normalise_email(email)
    if not is_email_address(email):
        raise PointillistError(f"{email!r} is not an e-mail address: {EMAIL_HINT}", field="email")
    check_password_strength(password, scope.policy, (email, name))
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            f"a user with e-mail {email} already exists; choose another address", field="email"
        )
    user = User(
        clinic_id=scope.clinic_id,
        email=email,
        name=_text(name, "name", "user's name"),
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        # Another request took the address between the check above and this insert.
        raise Conflict(
            f"a user with e-mail {email} already exists; choose another address", field="email"
        ) from None
    audit.record(session, scope, "create", "user", user.id, role=role)
    return user


def get_user(session: Session, scope: Scope, user_id: int) -> User:
    """A user of the caller's clinic."""
    user = session.get(User, user_id)
    if user is None or user.clinic_id != scope.clinic_id:
        raise NotFound(f"no user {user_id} in this clinic")
    return user


def list_users(session: Session, scope: Scope) -> list[User]:
    """The clinic's staff accounts (owners)."""
    scope.require("manage_users")
    return list(
        session.scalars(select(User).where(User.clinic_id == scope.clinic_id).order_by(User.id))
    )


def update_user(
    session: Session,
    scope: Scope,
    user_id: int,
    *,
    name: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
) -> User:
    """Rename, change the role of, or (de)activate a user (owners)."""
    scope.require("manage_users")
    user = get_user(session, scope, user_id)
    fields = []
    if name is not None:
        user.name = _text(name, "name", "user's name")
        fields.append("name")
    if role is not None:
        if role not in ROLES:
            raise PointillistError(
                f"role {role!r} is unknown; use one of {', '.join(ROLES)}", field="role"
            )
        if user.role == "owner" and role != "owner":
            _keep_an_owner(session, scope, user)
        user.role = role
        fields.append("role")
    if is_active is not None:
        if not is_active and user.role == "owner":
            _keep_an_owner(session, scope, user)
        if not is_active:
            end_credentials(session, user.id)
        user.is_active = is_active
        fields.append("is_active")
    audit.record(session, scope, "update", "user", user.id, fields=fields)
    return user


def set_password(
    session: Session,
    scope: Scope,
    user_id: int,
    password: str,
    *,
    current_password: str | None = None,
) -> User:
    """Set a user's password: one's own with the current one, or (owners) another's.

    Every API token and browser session of the user ends: whoever held them may be the
    reason for the change.
    """
    user = get_user(session, scope, user_id)
    if user.id == scope.user_id:
        # Even an owner: a session left open on a shared screen must not be enough.
        if current_password is None or not verify_password(user.password_hash, current_password):
            raise PointillistError(
                "the current password is missing or wrong; give it to set a new one",
                field="current_password",
            )
    else:
        scope.require("manage_users")
    check_password_strength(password, scope.policy, (user.email, user.name))
    user.password_hash = hash_password(password)
    end_credentials(session, user.id)
    audit.record(session, scope, "update", "user", user.id, fields=["password"])
    return user


def _keep_an_owner(session: Session, scope: Scope, leaving: User) -> None:
    others = session.scalar(
        select(User.id).where(
            User.clinic_id == scope.clinic_id,
            User.role == "owner",
            User.is_active.is_(True),
            User.id != leaving.id,
        )
    )
    if others is None:
        raise Conflict("this is the clinic's last active owner; make another user owner first")


def create_practitioner(
    session: Session,
    scope: Scope,
    *,
    name: str,
    licence_number: str | None = None,
    licence_authority: str | None = None,
    licence_expires_on: date | None = None,
    experience_tier: str | None = None,
    impressions_per_minute: float | None = None,
    user_id: int | None = None,
) -> Practitioner:
    """Add a practitioner (owners); ``user_id`` links their sign-in account."""
    scope.require("manage_practitioners")
    if user_id is not None:
        _check_account_free(session, scope, user_id)
    if impressions_per_minute is not None and impressions_per_minute <= 0:
        raise PointillistError(
            "impressions per minute must be positive", field="impressions_per_minute"
        )
    practitioner = Practitioner(
        clinic_id=scope.clinic_id,
        name=_text(name, "name", "practitioner's name"),
        licence_number=licence_number,
        licence_authority=licence_authority,
        licence_expires_on=licence_expires_on,
        experience_tier=experience_tier,
        impressions_per_minute=impressions_per_minute,
        user_id=user_id,
    )
    session.add(practitioner)
    session.flush()
    audit.record(session, scope, "create", "practitioner", practitioner.id)
    return practitioner


def _check_account_free(
    session: Session, scope: Scope, user_id: int, practitioner_id: int | None = None
) -> None:
    """Refuse to link a sign-in account that is not the clinic's or already is someone's."""
    get_user(session, scope, user_id)
    linked = session.scalar(
        select(Practitioner.id).where(
            Practitioner.user_id == user_id, Practitioner.id != (practitioner_id or 0)
        )
    )
    if linked is not None:
        raise Conflict(
            f"user {user_id} is already practitioner {linked}'s sign-in account; "
            "link another user or change that practitioner first",
            field="user_id",
        )


def get_practitioner(session: Session, scope: Scope, practitioner_id: int) -> Practitioner:
    """A practitioner of the caller's clinic."""
    scope.require("read_records")
    practitioner = session.get(Practitioner, practitioner_id)
    if practitioner is None or practitioner.clinic_id != scope.clinic_id:
        raise NotFound(f"no practitioner {practitioner_id} in this clinic")
    return practitioner


def list_practitioners(
    session: Session, scope: Scope, *, active_only: bool = False
) -> list[Practitioner]:
    """The clinic's practitioners."""
    scope.require("read_records")
    query = select(Practitioner).where(Practitioner.clinic_id == scope.clinic_id)
    if active_only:
        query = query.where(Practitioner.is_active.is_(True))
    return list(session.scalars(query.order_by(Practitioner.id)))


def update_practitioner(
    session: Session, scope: Scope, practitioner_id: int, **changes: Any
) -> Practitioner:
    """Change a practitioner's details or licence (owners)."""
    scope.require("manage_practitioners")
    practitioner = get_practitioner(session, scope, practitioner_id)
    if changes.get("user_id") is not None:
        _check_account_free(session, scope, changes["user_id"], practitioner_id)
    _apply(practitioner, changes, PRACTITIONER_FIELDS)
    audit.record(session, scope, "update", "practitioner", practitioner.id, fields=sorted(changes))
    return practitioner


def practitioner_licence_problem(practitioner: Practitioner, on: date) -> str | None:
    """Why ``practitioner`` cannot work on day ``on``, or None if they can."""
    if not practitioner.is_active:
        return f"practitioner {practitioner.name} is no longer active"
    if practitioner.licence_number is None:
        return (
            f"practitioner {practitioner.name} has no licence recorded; "
            "add its number and expiry date first"
        )
    expires = practitioner.licence_expires_on
    if expires is not None and expires < on:
        return (
            f"practitioner {practitioner.name}'s licence expired on {expires.isoformat()}, "
            f"before {on.isoformat()}; record the renewed licence or choose another practitioner"
        )
    return None


def require_licensed(practitioner: Practitioner, on: date) -> None:
    """Raise :class:`GateClosed` if ``practitioner`` cannot work on day ``on``."""
    problem = practitioner_licence_problem(practitioner, on)
    if problem is not None:
        raise GateClosed(problem, field="practitioner_id")


def _apply(target: Any, changes: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise PointillistError(
            f"cannot change {', '.join(unknown)}; changeable: {', '.join(allowed)}"
        )
    for key, value in changes.items():
        setattr(target, key, value)
