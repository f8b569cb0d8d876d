"""The record-keeping policy from ``data/records.toml``: retention, roles, consent texts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pointillist.data import load_table
from pointillist.store.models import ROLES


@dataclass(frozen=True)
class RecordsPolicy:
    """The parsed policy file.

    Attributes
    ----------
    retention_years
        Years a client's record is kept after their last session.
    clinic_licence_warning_days
        Days before the clinic licence expires from which it is warned about.
    min_pigment_lots
        Pigment lots a session needs before it can be completed.
    required_consent
        Name of the consent template a client must have signed before a session completes.
    min_password_length
        Shortest password accepted for a user.
    role_permissions
        Role name to the permissions it has.
    permission_labels
        Permission to the words used in messages ("run a lot recall").
    consent_templates
        Default templates: ``{"name", "text", "sources"}`` each.
    """

    retention_years: int
    clinic_licence_warning_days: int
    min_pigment_lots: int
    required_consent: str
    min_password_length: int
    role_permissions: dict[str, frozenset[str]]
    permission_labels: dict[str, str]
    consent_templates: tuple[dict[str, Any], ...]

    def can(self, role: str, permission: str) -> bool:
        """Whether ``role`` has ``permission``."""
        return permission in self.role_permissions.get(role, frozenset())

    def roles_with(self, permission: str) -> list[str]:
        """The roles that have ``permission``, in the order of :data:`ROLES`."""
        return [role for role in ROLES if self.can(role, permission)]


def load_policy(override: str | Path | None = None) -> RecordsPolicy:
    """Read ``records.toml``, or a clinic's override merged over it, checked.

    The override may hold only what it changes (``[retention] client_record_years = 7``);
    an unknown key, a wrong type or an impossible value ends in one line naming the file
    and the key (``pointillist.data.schemas.RecordsFile``).
    """
    table = load_table("records", override)
    roles = table["roles"]
    return RecordsPolicy(
        retention_years=int(table["retention"]["client_record_years"]),
        clinic_licence_warning_days=int(table["licences"]["clinic_warning_days"]),
        min_pigment_lots=int(table["gates"]["min_pigment_lots_per_completed_session"]),
        required_consent=str(table["gates"]["required_consent"]),
        min_password_length=int(table["passwords"]["min_length"]),
        role_permissions={role: frozenset(roles[role]["may"]) for role in ROLES},
        permission_labels={str(k): str(v) for k, v in table["permissions"].items()},
        consent_templates=tuple(
            {"name": str(t["name"]), "text": str(t["text"]), "sources": list(t["sources"])}
            for t in table["consent_templates"]
        ),
    )
