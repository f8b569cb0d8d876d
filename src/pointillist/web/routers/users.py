"""Staff accounts and their roles (owners manage them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import Field

from pointillist.store import clinic as clinics
from pointillist.store.models import User
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import NOT_FOUND, In, Out, PathId, refuse_null

router = APIRouter(prefix="/api/users", tags=["users"])

Role = Literal["owner", "practitioner", "front-desk"]


class UserOut(Out):
    id: int
    email: str
    name: str
    role: str = Field(description="owner, practitioner or front-desk.")
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserIn(In):
    email: str = Field(max_length=320, description="Sign-in e-mail, unique across the server.")
    name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(description="At least 12 characters (records.toml [passwords]).")


class UserPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    is_active: bool | None = Field(
        default=None, description="false: the user can no longer sign in (the record stays)."
    )

    _not_null = refuse_null("name", "role", "is_active")


class PasswordSet(In):
    password: str = Field(description="The new password (at least 12 characters).")


@router.get("", response_model=list[UserOut], summary="List users (owner)")
def list_users(actor: CurrentActor, db: DbSession) -> list[User]:
    """Every account of the clinic, active or not."""
    return clinics.list_users(db, actor.scope)


@router.post("", response_model=UserOut, status_code=201, summary="Add a user (owner)")
def create_user(body: UserIn, actor: CurrentActor, db: DbSession) -> User:
    """Add a staff account with a role; 409 if the e-mail is taken."""
    return clinics.create_user(
        db, actor.scope, email=body.email, name=body.name, role=body.role, password=body.password
    )


@router.get("/{user_id}", response_model=UserOut, summary="A user", responses=NOT_FOUND)
def get_user(user_id: PathId, actor: CurrentActor, db: DbSession) -> User:
    """One account: your own, or (owners) any of the clinic's."""
    if user_id != actor.user.id:
        actor.scope.require("manage_users")
    return clinics.get_user(db, actor.scope, user_id)


@router.patch(
    "/{user_id}", response_model=UserOut, summary="Change a user (owner)", responses=NOT_FOUND
)
def update_user(user_id: PathId, body: UserPatch, actor: CurrentActor, db: DbSession) -> User:
    """Rename, change the role, or deactivate. The last active owner cannot be demoted."""
    return clinics.update_user(
        db, actor.scope, user_id, name=body.name, role=body.role, is_active=body.is_active
    )


@router.put(
    "/{user_id}/password",
    status_code=204,
    summary="Set a user's password (owner)",
    responses=NOT_FOUND,
)
def set_password(
    user_id: PathId, body: PasswordSet, actor: CurrentActor, db: DbSession
) -> Response:
    """Set another user's password (their browser sessions end)."""
    clinics.set_password(db, actor.scope, user_id, body.password)
    return Response(status_code=204)
