"""A clinic's policy: the data tables every consultation reads, with the clinic's overrides.

The packaged tables (``data/*.toml``) hold defaults with their sources. A clinic file
(TOML) may carry tables named ``plan``, ``zones``, ``aftercare`` and ``pricing``; each is
merged key by key over the packaged table of that name, so a clinic changes only what it
needs (``[pricing] base_fee = 450``), and the result is checked against the table's
model (``pointillist.data.schemas``). Screening rules are replaced whole (``--rules``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pointillist.data import load_table, merge_tables, read_toml
from pointillist.data.schemas import validate_table
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


def load_clinic_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read and check a clinic file; return its tables merged over the packaged ones.

    Raises
    ------
    PointillistError
        One line naming the file, the key and what is allowed, e.g.
        ``clinic.toml: pricing.base_fe: unknown key; allowed here: base_fee, ...``.
    """
    overrides = read_toml(path)
    unknown = sorted(set(overrides) - set(_MERGEABLE))
    if unknown:
        raise PointillistError(
            f"{path}: unknown table [{unknown[0]}]; a clinic file may hold "
            f"{', '.join(f'[{name}]' for name in _MERGEABLE)}"
        )
    tables = {}
    for name in _MERGEABLE:
        merged = merge_tables(load_table(name), overrides.get(name, {}), str(path))
        tables[name] = validate_table(name, merged, str(path), prefix=f"{name}.")
    return tables


def load_rules_file(path: str | Path) -> dict[str, Any]:
    """Read and check a clinic's own screening rules (replacing the packaged ones)."""
    return load_table("screening_rules", path)


def load_policy(
    clinic_file: str | Path | None = None, rules_file: str | Path | None = None
) -> ClinicPolicy:
    """Packaged tables, overridden by a clinic file and a rules file when given.

    Both files are checked (see :func:`load_clinic_file` and :func:`load_rules_file`).
    """
    if clinic_file is not None:
        tables = load_clinic_file(clinic_file)
    else:
        tables = {name: load_table(name) for name in _MERGEABLE}
    return ClinicPolicy(
        rules=load_table("screening_rules", rules_file),
        zones=tables["zones"],
        plan=tables["plan"],
        aftercare=tables["aftercare"],
        pricing=tables["pricing"],
    )
