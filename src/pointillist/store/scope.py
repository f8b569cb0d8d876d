"""Who is acting, for which clinic: every repository function takes a :class:`Scope`.

A record of another clinic is reported as not found, never as forbidden, so that its
existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from pointillist.store.errors import PermissionDenied
from pointillist.store.models import ROLES, ApiToken, User
from pointillist.store.policy import RecordsPolicy, load_policy


@cache
def default_policy() -> RecordsPolicy:
    """The packaged records policy (cached)."""
    return load_policy()


@dataclass(frozen=True)
class Scope:
    """The acting user's clinic and role.

    Attributes
    ----------
    clinic_id
        Every query is limited to this clinic.
    role
        ``owner``, ``practitioner`` or ``front-desk``.
    user_id
        The acting user, or None for the operator's CLI.
    actor
        Who, in words, for the audit log: the user's e-mail or ``"admin-cli"``; with a
        token someone else minted, also the token and its minter.
    api_token_id
        The API token the user acts with, if any (kept in the audit log).
    policy
        Roles and permissions (the packaged ``records.toml`` unless a clinic overrides it).
    """

    clinic_id: int
    role: str
    user_id: int | None = None
    actor: str = "admin-cli"
    api_token_id: int | None = None
    policy: RecordsPolicy = field(default_factory=default_policy, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {ROLES}")

    @classmethod
    def for_user(
        cls,
        user: User,
        policy: RecordsPolicy | None = None,
        *,
        token: ApiToken | None = None,
        token_minter: str | None = None,
    ) -> Scope:
        """The scope of a signed-in user, or of a user's API ``token``.

        ``token_minter`` is the e-mail of whoever minted the token when that was not the
        user: the log then says so, since the minter also held the secret.
        """
        actor = user.email
        if token is not None and token_minter is not None and token_minter != user.email:
            actor = f"{user.email} (token {token.id} minted by {token_minter})"
        return cls(
            clinic_id=user.clinic_id,
            role=user.role,
            user_id=user.id,
            actor=actor[:320],
            api_token_id=token.id if token is not None else None,
            policy=policy or default_policy(),
        )

    @classmethod
    def operator(cls, clinic_id: int) -> Scope:
        """The clinic's operator at the command line: owner rights, audited as admin-cli."""
        return cls(clinic_id=clinic_id, role="owner")

    def can(self, permission: str) -> bool:
        """Whether this scope's role has ``permission`` (see ``records.toml``)."""
        return self.policy.can(self.role, permission)

    def require(self, permission: str) -> None:
        """Raise :class:`PermissionDenied` unless the role has ``permission``."""
        if not self.can(permission):
            label = self.policy.permission_labels.get(permission, permission)
            allowed = " or ".join(self.policy.roles_with(permission)) or "no"
            raise PermissionDenied(
                f"a {self.role} user cannot {label}; it needs the {allowed} role"
            )
