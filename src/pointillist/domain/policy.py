"""A clinic's policy: the data tables every consultation reads, with the clinic's overrides.

The packaged tables (``data/*.toml``) hold defaults with their sources. A clinic file
(TOML) may carry tables named ``plan``, ``zones``, ``aftercare`` and ``pricing``; each is
merged key by key over the packaged table of that name, so a clinic changes only what it
needs (``[pricing] base_fee = 450``), and the result is checked against the table's
model (``pointillist.data.schemas``). Screening rules are replaced whole (``--rules``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pointillist.data import load_table, merge_tables, read_toml
from pointillist.domain.appointments import clinic_hours, parse_time
from pointillist.domain.plan import closed_dates_of, closed_weekdays_of
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
    return _merged_tables(
        {name: load_table(name) for name in _MERGEABLE}, read_toml(path), str(path)
    )


def _merged_tables(
    base: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Any], source: str
) -> dict[str, dict[str, Any]]:
    unknown = sorted(set(overrides) - set(_MERGEABLE))
    if unknown:
        raise PointillistError(
            f"{source}: unknown table [{unknown[0]}]; a clinic file may hold "
            f"{', '.join(f'[{name}]' for name in _MERGEABLE)}"
        )
    # The pydantic models are built only when a clinic's own file is checked: building
    # them is most of a second of start-up that a preview, which reads only the packaged
    # tables, would otherwise pay for importing the domain package.
    from pointillist.data.schemas import validate_table

    tables = {}
    for name in _MERGEABLE:
        merged = merge_tables(base[name], overrides.get(name, {}), source)
        tables[name] = validate_table(name, merged, source, prefix=f"{name}.")
    return tables


def with_clinic_file(
    policy: ClinicPolicy, overrides: Mapping[str, Any], source: str
) -> ClinicPolicy:
    """``policy`` with a clinic file's tables (parsed) merged over its own, checked as
    :func:`load_clinic_file` checks a file: one line naming ``source`` and the key."""
    base = {name: getattr(policy, name) for name in _MERGEABLE}
    return replace(policy, **_merged_tables(base, overrides, source))


def with_rules(policy: ClinicPolicy, rules: Mapping[str, Any], source: str) -> ClinicPolicy:
    """``policy`` with its screening rules replaced whole by ``rules`` (parsed), checked."""
    from pointillist.data.schemas import validate_table

    return replace(policy, rules=validate_table("screening_rules", rules, source))


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


#: What a clinic's settings page may change: key -> (table, path inside it).
CLINIC_SETTINGS: dict[str, tuple[str, ...]] = {
    "currency": ("pricing", "currency"),
    "base_fee": ("pricing", "base_fee"),
    "rate_per_cm2": ("pricing", "rate_per_cm2"),
    "tax_rate": ("pricing", "tax_rate"),
    "deposit_fraction": ("pricing", "deposit_fraction"),
    "opening_time": ("plan", "calendar", "opening_time"),
    "closing_time": ("plan", "calendar", "closing_time"),
    "closed_weekdays": ("plan", "calendar", "closed_weekdays"),
    "closed_dates": ("plan", "calendar", "closed_dates"),
}


def check_clinic_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check the settings a clinic keeps in its record and return them in stored form
    (times ``"HH:MM"``, dates ``"YYYY-MM-DD"``), raising one clear error naming the field.

    Keys are those of :data:`CLINIC_SETTINGS`; absent keys keep the served policy's value.
    """
    unknown = sorted(set(settings) - set(CLINIC_SETTINGS))
    if unknown:
        raise PointillistError(
            f"unknown clinic setting {unknown[0]!r}; use one of {', '.join(CLINIC_SETTINGS)}",
            field=unknown[0],
        )
    checked: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "currency":
            code = str(value).strip().upper()
            if len(code) != 3 or not code.isalpha():
                raise PointillistError(
                    f"currency {value!r} is not a three-letter ISO 4217 code such as EUR or USD",
                    field=key,
                )
            checked[key] = code
        elif key in ("base_fee", "rate_per_cm2"):
            checked[key] = _number(value, key, low=0.0, high=None)
        elif key in ("tax_rate", "deposit_fraction"):
            checked[key] = _number(value, key, low=0.0, high=1.0)
        elif key in ("opening_time", "closing_time"):
            checked[key] = parse_time(value, key.replace("_", " ")).strftime("%H:%M")
        elif key == "closed_weekdays":
            names = [str(v).strip().lower() for v in value]
            closed_weekdays_of(names)
            checked[key] = names
        else:
            days = []
            for item in value:
                try:
                    days.append(dt.date.fromisoformat(str(item).strip()))
                except ValueError:
                    raise PointillistError(
                        f"closed date {item!r} is not a date; write it as YYYY-MM-DD",
                        field=key,
                    ) from None
            closed_dates_of(days)
            checked[key] = sorted(d.isoformat() for d in set(days))
    return checked


def with_clinic_settings(policy: ClinicPolicy, settings: Mapping[str, Any]) -> ClinicPolicy:
    """``policy`` with a clinic's stored settings (see :func:`check_clinic_settings`) laid
    over it: the served files give the defaults, the clinic's settings page the last word."""
    if not settings:
        return policy
    tables: dict[str, Any] = {"plan": dict(policy.plan), "pricing": dict(policy.pricing)}
    for key, value in check_clinic_settings(settings).items():
        table, *path = CLINIC_SETTINGS[key]
        if key == "closed_dates":
            value = [dt.date.fromisoformat(day) for day in value]
        target = tables[table]
        for step in path[:-1]:
            target[step] = dict(target[step])
            target = target[step]
        target[path[-1]] = value
    merged = replace(policy, plan=tables["plan"], pricing=tables["pricing"])
    clinic_hours(merged.plan["calendar"])  # opening before closing, whichever side changed
    return merged


def _number(value: Any, key: str, *, low: float, high: float | None) -> float:
    what = key.replace("_", " ")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PointillistError(f"{what} {value!r} is not a number", field=key) from None
    if not math.isfinite(number) or number < low or (high is not None and number > high):
        limit = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise PointillistError(f"{what} must be {limit}; got {value}", field=key)
    return number
