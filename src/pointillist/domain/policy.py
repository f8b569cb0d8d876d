"""A clinic's policy: the data tables every consultation reads, with the clinic's overrides.

The packaged tables (``data/*.toml``) hold defaults with their sources. A clinic file
(TOML) may carry tables named ``plan``, ``zones``, ``aftercare`` and ``pricing``; each is
merged key by key over the packaged table of that name, so a clinic changes only what it
needs (``[pricing] base_fee = 450``). Screening rules are replaced whole (``--rules``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pointillist.data import load_table
from pointillist.errors import PointillistError

_MERGEABLE = ("plan", "zones", "aftercare", "pricing")


@dataclass(frozen=True)
class ClinicPolicy:
    """The data tables in force for one clinic."""

    rules: Mapping[str, Any]
    zones: Mapping[str, Any]
    plan: Mapping[str, Any]
    aftercare: Mapping[str, Any]
    pricing: Mapping[str, Any]


def load_policy(
    clinic_file: str | Path | None = None, rules_file: str | Path | None = None
) -> ClinicPolicy:
    """Packaged tables, overridden by a clinic file and a rules file when given."""
    overrides: dict[str, Any] = {}
    if clinic_file is not None:
        overrides = load_table("clinic", clinic_file)
        unknown = sorted(set(overrides) - set(_MERGEABLE))
        if unknown:
            raise PointillistError(
                f"{clinic_file}: unknown table [{unknown[0]}]; a clinic file may hold "
                f"{', '.join(f'[{name}]' for name in _MERGEABLE)}"
            )
    tables = {name: _merge(load_table(name), overrides.get(name, {})) for name in _MERGEABLE}
    return ClinicPolicy(
        rules=load_table("screening_rules", rules_file),
        zones=tables["zones"],
        plan=tables["plan"],
        aftercare=tables["aftercare"],
        pricing=tables["pricing"],
    )


def _merge(base: Mapping[str, Any], override: Any) -> dict[str, Any]:
    if not isinstance(override, Mapping):
        raise PointillistError("a clinic file's tables must be TOML tables, e.g. [pricing]")
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
