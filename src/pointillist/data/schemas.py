"""What every policy file may hold: one pydantic model per file a clinic can override.

A clinic's own file is merged over the packaged one (see :func:`pointillist.data.load_table`)
and the result is checked here, so that a misspelt key, a wrong type or an impossible
value ends in one line naming the file, the key and what is allowed, instead of being
silently ignored or failing deep inside a calculation.

The models are strict (``"450"`` is not a number, ``1`` is not a text) and refuse unknown
keys. :func:`validate_table` is the one entry point; :data:`POLICY_MODELS` lists the files
it knows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pointillist.errors import PointillistError

# Kept here rather than imported from the domain: the data package sits above it.
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SEXES = ("male", "female", "other")

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]
Text = Annotated[str, Field(min_length=1)]
# CIELAB L* a* b*: a* and b* within +-128 here, L* in (0, 100) checked where it is used.
LabTriple = Annotated[
    list[Annotated[float, Field(ge=-128, le=128)]], Field(min_length=3, max_length=3)
]


class _Table(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


# --- plan.toml -----------------------------------------------------------------------


class _Sessions(_Table):
    default_count: PositiveCount
    min_count: PositiveCount
    max_count: PositiveCount
    source: Text

    @model_validator(mode="after")
    def _ordered(self) -> _Sessions:
        if not self.min_count <= self.default_count <= self.max_count:
            raise ValueError("needs min_count <= default_count <= max_count")
        return self


class _Interval(_Table):
    default_days: PositiveCount
    min_days: PositiveCount
    max_days: PositiveCount
    source: Text

    @model_validator(mode="after")
    def _ordered(self) -> _Interval:
        if not self.min_days <= self.default_days <= self.max_days:
            raise ValueError("needs min_days <= default_days <= max_days")
        return self


class _Density(_Table):
    final_per_cm2: Positive
    final_source: Text
    cumulative_fraction: dict[str, list[Fraction]]
    cumulative_source: Text
    rework_fraction: Fraction
    rework_source: Text

    @model_validator(mode="after")
    def _curves_rise(self) -> _Density:
        for count, curve in self.cumulative_fraction.items():
            rising = all(a < b for a, b in itertools.pairwise(curve))
            if str(len(curve)) != count or not rising or curve[0] <= 0 or curve[-1] != 1.0:
                raise ValueError(
                    f"cumulative_fraction {count!r} must rise through {count} values above 0 to 1.0"
                )
        return self


class _Impression(_Table):
    diameter_mm: Positive
    diameter_jitter_mm: NonNegative
    min_diameter_mm: Positive
    max_diameter_mm: Positive
    source: Text

    @model_validator(mode="after")
    def _ordered(self) -> _Impression:
        if not self.min_diameter_mm <= self.diameter_mm <= self.max_diameter_mm:
            raise ValueError("needs min_diameter_mm <= diameter_mm <= max_diameter_mm")
        return self


class _Duration(_Table):
    setup_minutes: NonNegative
    impressions_per_minute: Positive
    max_session_minutes: Positive
    source: Text

    @model_validator(mode="after")
    def _room_to_work(self) -> _Duration:
        if self.setup_minutes >= self.max_session_minutes:
            raise ValueError("setup_minutes must be less than max_session_minutes")
        return self


class _Calendar(_Table):
    closed_weekdays: list[Literal[_WEEKDAYS]]  # type: ignore[valid-type]
    closed_dates: list[dt.date]
    opening_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    closing_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    source: Text

    @model_validator(mode="after")
    def _open_some_day(self) -> _Calendar:
        if len(set(self.closed_weekdays)) == len(_WEEKDAYS):
            raise ValueError("closed_weekdays closes every day of the week; open at least one")
        if self.closing_time <= self.opening_time:
            raise ValueError("closing_time must be after opening_time")
        return self


class _TouchUp(_Table):
    years_after_last_session: Positive
    source: Text


class _TestPatch(_Table):
    healing_check_days: PositiveCount
    minutes: PositiveCount
    source: Text


class PlanFile(_Table):
    """``plan.toml``: session counts, intervals, density, durations, calendar."""

    sessions: _Sessions
    interval: _Interval
    density: _Density
    impression: _Impression
    duration: _Duration
    calendar: _Calendar
    touch_up: _TouchUp
    test_patch: _TestPatch


# --- zones.toml ----------------------------------------------------------------------


class _Head(_Table):
    reference_circumference_cm: Positive
    default_circumference_cm: dict[Literal[_SEXES], Positive]  # type: ignore[valid-type]
    min_circumference_cm: Positive
    max_circumference_cm: Positive
    source: Text

    @model_validator(mode="after")
    def _every_sex(self) -> _Head:
        missing = [s for s in _SEXES if s not in self.default_circumference_cm]
        if missing:
            raise ValueError(f"default_circumference_cm needs {', '.join(missing)}")
        return self


class _AlopeciaAreata(_Table):
    default_patch_count: PositiveCount
    default_largest_patch_cm2: Positive
    blending_ring_cm: NonNegative
    source: Text


class _Scar(_Table):
    cover_width_cm: Positive
    blending_ring_cm: NonNegative
    default_area_cm2: Positive
    source: Text


class ZonesFile(_Table):
    """``zones.toml``: treatment area per pattern and zone."""

    head: _Head
    patterns: dict[str, dict[str, Positive]]
    alopecia_areata: _AlopeciaAreata
    scar: _Scar
    zone_names: dict[str, Text]

    @model_validator(mode="after")
    def _named_zones(self) -> ZonesFile:
        for pattern, zones in self.patterns.items():
            for zone in zones:
                if zone not in self.zone_names:
                    raise ValueError(
                        f"pattern {pattern!r} uses zone {zone!r}, which [zone_names] does not "
                        f"name; use one of: {', '.join(self.zone_names)}"
                    )
        return self


# --- aftercare.toml ------------------------------------------------------------------


class _CourseRestriction(_Table):
    code: Text
    avoid: Annotated[list[Text], Field(min_length=1)]
    days_after_last_session: Count
    advice: Text
    source: Text


class _SessionRestriction(_Table):
    code: Text
    avoid: Annotated[list[Text], Field(min_length=1)]
    days: Count
    advice: Text
    source: Text


class AftercareFile(_Table):
    """``aftercare.toml``: what to avoid, for how long."""

    downtime: Text
    course: list[_CourseRestriction] = []
    after_each_session: list[_SessionRestriction] = []


# --- pricing.toml --------------------------------------------------------------------


def _factors(table: Mapping[str, Any], what: str) -> None:
    for key, value in table.items():
        if key == "source":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"{what} {key!r} = {value!r}: a factor must be a number above 0")
    if len(set(table) - {"source"}) == 0:
        raise ValueError(f"[{what}] needs at least one factor, e.g. standard = 1.0")


class PricingFile(_Table):
    """``pricing.toml``: the price table."""

    currency: Annotated[str, Field(min_length=1, max_length=8)]
    base_fee: NonNegative
    rate_per_cm2: NonNegative
    tax_rate: Annotated[float, Field(ge=0, lt=1)]
    deposit_fraction: Fraction
    source: Text
    experience: dict[str, float | str]
    clinic_tier: dict[str, float | str]

    @model_validator(mode="after")
    def _positive_factors(self) -> PricingFile:
        _factors(self.experience, "experience")
        _factors(self.clinic_tier, "clinic_tier")
        if "standard" not in self.experience or "standard" not in self.clinic_tier:
            raise ValueError("[experience] and [clinic_tier] each need a 'standard' factor")
        return self


# --- screening_rules.toml --------------------------------------------------------------


class _When(_Table):
    conditions_any: list[Text] = []
    conditions_none: list[Text] = []
    patterns_any: list[Text] = []
    fitzpatrick_in: list[Annotated[int, Field(ge=1, le=6)]] = []
    age_below: Annotated[int, Field(ge=0, le=130)] | None = None


class _Rule(_Table):
    code: Text
    when: _When = _When()
    outcome: Literal["proceed", "caution", "refer", "defer", "decline"]
    refer_to: Text | None = None
    message: Text
    reasoning: Text
    source: Text
    defer_days: Count | None = None
    test_patch: bool = False


class ScreeningRulesFile(_Table):
    """``screening_rules.toml``: the rules a consultation screens by."""

    version: Text | None = None
    rule: Annotated[list[_Rule], Field(min_length=1)]


# --- pigments.toml -------------------------------------------------------------------


class _GenericShade(_Table):
    id: Text
    name: Text
    dilution: NonNegative


class _Measured(_Table):
    skin_lab: LabTriple
    dot_lab: LabTriple
    depth_mm: Annotated[float, Field(gt=0, le=3)]

    @model_validator(mode="after")
    def _lightness(self) -> _Measured:
        for key, lab in (("skin_lab", self.skin_lab), ("dot_lab", self.dot_lab)):
            if not 0 < lab[0] < 100:
                raise ValueError(f"{key} L* {lab[0]:g} must be between 0 and 100")
        if self.dot_lab[0] >= self.skin_lab[0]:
            raise ValueError("dot_lab must be darker (lower L*) than skin_lab")
        return self


class _BrandShade(_Table):
    id: Text
    name: Text
    measured: _Measured


class _Recommendation(_Table):
    source: Text
    stubble_contrast_delta_e00: Positive
    contrast_tolerance_delta_e00: Positive
    hair_match_tolerance_delta_e00: Positive
    depth_min_mm: Positive
    depth_max_mm: Positive
    depth_step_mm: Positive
    horizon_years: NonNegative
    blue_shift_tolerance_deg: Positive
    alternatives: Count

    @model_validator(mode="after")
    def _depth_range(self) -> _Recommendation:
        if self.depth_min_mm > self.depth_max_mm:
            raise ValueError("needs depth_min_mm <= depth_max_mm")
        return self


class PigmentsFile(_Table):
    """``pigments.toml``: the shade catalogue and the recommendation policy."""

    source: Text
    generic_shades: list[_GenericShade] = []
    brand_shades: list[_BrandShade] = []
    recommendation: _Recommendation

    @model_validator(mode="after")
    def _unique_ids(self) -> PigmentsFile:
        ids = [s.id.lower() for s in self.generic_shades] + [
            s.id.lower() for s in self.brand_shades
        ]
        if not ids:
            raise ValueError("the catalogue has no shades; add [[generic_shades]]")
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"shade id {repeated[0]!r} is used twice; make ids unique")
        return self


# --- records.toml --------------------------------------------------------------------


class _Retention(_Table):
    client_record_years: Count
    source: Text


class _Licences(_Table):
    clinic_warning_days: Count
    source: Text


class _Dates(_Table):
    earliest: dt.date
    latest_years_ahead: PositiveCount
    source: Text


class _Gates(_Table):
    min_pigment_lots_per_completed_session: Count
    required_consent: Text
    source: Text


class _Passwords(_Table):
    min_length: Annotated[int, Field(ge=8, le=128)]
    source: Text
    min_zxcvbn_score: Annotated[int, Field(ge=0, le=4)]
    score_source: Text


class _SignIn(_Table):
    max_failures_per_account: Annotated[int, Field(ge=1)]
    max_failures_per_address: Annotated[int, Field(ge=1)]
    window_minutes: Annotated[int, Field(ge=1)]
    source: Text


class _Tokens(_Table):
    default_days: Annotated[int, Field(ge=1)]
    max_days: Annotated[int, Field(ge=1)]
    source: Text

    @model_validator(mode="after")
    def _default_within_max(self) -> _Tokens:
        if self.default_days > self.max_days:
            raise ValueError(
                f"tokens.default_days {self.default_days} is over tokens.max_days {self.max_days}"
            )
        return self


class _Role(_Table):
    description: Text
    may: list[Text]


class _Roles(_Table):
    model_config = ConfigDict(populate_by_name=True)

    source: Text
    owner: _Role
    practitioner: _Role
    front_desk: _Role = Field(alias="front-desk")


class _ConsentTemplate(_Table):
    name: Text
    sources: list[Text]
    text: Text


class RecordsFile(_Table):
    """``records.toml``: retention, licences, accepted dates, gates, passwords, sign-in
    throttling, token lifetimes, roles and consent templates."""

    retention: _Retention
    licences: _Licences
    dates: _Dates
    gates: _Gates
    passwords: _Passwords
    sign_in: _SignIn
    tokens: _Tokens
    roles: _Roles
    permissions: dict[str, Text]
    consent_templates: list[_ConsentTemplate]

    @model_validator(mode="after")
    def _known_permissions(self) -> RecordsFile:
        for role in (self.roles.owner, self.roles.practitioner, self.roles.front_desk):
            unknown = sorted(set(role.may) - set(self.permissions))
            if unknown:
                raise ValueError(
                    f"role permission {unknown[0]!r} is not listed under [permissions]; "
                    f"use one of: {', '.join(self.permissions)}"
                )
        names = {t.name for t in self.consent_templates}
        if self.gates.required_consent not in names:
            raise ValueError(
                f"gates.required_consent {self.gates.required_consent!r} names no "
                f"[[consent_templates]]; use one of: {', '.join(sorted(names))}"
            )
        return self


# --- clinic.toml ---------------------------------------------------------------------


class ClinicFile(_Table):
    """A clinic file: partial ``[plan]``, ``[zones]``, ``[aftercare]`` and ``[pricing]`` tables.

    Only the shape is checked here (which tables); each table is checked once merged over
    the packaged one, by the model of that file.
    """

    plan: dict[str, Any] = {}
    zones: dict[str, Any] = {}
    aftercare: dict[str, Any] = {}
    pricing: dict[str, Any] = {}


POLICY_MODELS: dict[str, type[_Table]] = {
    "plan": PlanFile,
    "zones": ZonesFile,
    "aftercare": AftercareFile,
    "pricing": PricingFile,
    "screening_rules": ScreeningRulesFile,
    "pigments": PigmentsFile,
    "records": RecordsFile,
    "clinic": ClinicFile,
}


def validate_table(
    name: str, table: Mapping[str, Any], source: str, *, prefix: str = ""
) -> dict[str, Any]:
    """Check ``table`` against the model of policy file ``name``; return it unchanged.

    Parameters
    ----------
    name
        The policy file's stem: a key of :data:`POLICY_MODELS`.
    table
        The parsed (and, for an override, merged) TOML.
    source
        The file to name in the error, e.g. the clinic's path.
    prefix
        Written before the key in the error, e.g. ``"pricing."`` for a table of a
        clinic file.

    Raises
    ------
    PointillistError
        One line: ``<source>: <key>: <what is allowed>``, for the first problem found.
    """
    model = POLICY_MODELS[name]
    try:
        model.model_validate(dict(table))
    except ValidationError as exc:
        raise PointillistError(_one_line(exc, model, source, prefix)) from None
    return dict(table)


def _one_line(exc: ValidationError, model: type[BaseModel], source: str, prefix: str) -> str:
    error = exc.errors(include_url=False)[0]
    loc = error["loc"]
    key = prefix + _key(loc) if loc else prefix.rstrip(".") or "(top level)"
    kind, value = error["type"], error.get("input")
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        what = "unknown key" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
    elif kind == "missing":
        what = "missing; add it (the packaged file shows its shape)"
    elif kind in _TYPE_WORDS:
        what = f"must be {_TYPE_WORDS[kind]}, not {value!r}"
    elif kind in _BOUND_WORDS:
        bounds = {k: f"{v:g}" if isinstance(v, float) else v for k, v in context.items()}
        what = f"must be {_BOUND_WORDS[kind].format(**bounds)}, not {value!r}"
    elif kind == "literal_error":
        what = f"must be one of {context.get('expected')}, not {value!r}"
    elif kind == "value_error":
        what = str(error["msg"]).removeprefix("Value error, ")
    else:
        what = f"{error['msg'][0].lower()}{error['msg'][1:]} (got {value!r})"
    return f"{source}: {key}: {what}"


_TYPE_WORDS = {
    "float_type": "a number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "text in quotes",
    "bool_type": "true or false",
    "list_type": "a list [ ... ]",
    "tuple_type": "a list [ ... ]",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "date_type": "a date like 2026-12-25 (no quotes)",
    "finite_number": "a finite number",
}

_BOUND_WORDS = {
    "greater_than_equal": "{ge} or more",
    "greater_than": "more than {gt}",
    "less_than_equal": "{le} or less",
    "less_than": "less than {lt}",
    "too_short": "{min_length} or more items long",
    "too_long": "{max_length} or fewer items long",
    "string_too_short": "non-empty text",
    "string_pattern_mismatch": "text matching {pattern}",
}


def _key(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item + 1}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model accepts at ``loc`` (walking through nested models and lists)."""
    current: Any = model
    for item in loc:
        if isinstance(item, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = _field_by_key(current, item)
        if info is None:
            return []
        current = _inner_model(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(info.alias or name for name, info in current.model_fields.items())
    return []


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
