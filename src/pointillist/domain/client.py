"""The client profile: what a consultation records about the person and their hair loss.

:func:`client_from_mapping` turns loosely typed answers (a JSON or TOML client file, CLI
options, a web form) into a validated, frozen :class:`ClientProfile`, raising
:class:`~pointillist.errors.PointillistError` with a message that names the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pointillist.domain.skin_type import fitzpatrick_from_ita
from pointillist.errors import PointillistError

NORWOOD_PATTERNS = (
    *(f"norwood-{n}" for n in range(1, 8)),
    "norwood-3v",
    *(f"norwood-{n}a" for n in range(2, 6)),
)
LUDWIG_PATTERNS = tuple(f"ludwig-{n}" for n in range(1, 4))
OTHER_PATTERNS = ("alopecia-areata", "diffuse-thinning", "scar", "chemotherapy")
PATTERNS = (*NORWOOD_PATTERNS, *LUDWIG_PATTERNS, *OTHER_PATTERNS)

CONDITIONS = (
    "active-acne",
    "acne-controlled",
    "psoriasis-flare",
    "psoriasis-controlled",
    "eczema-flare",
    "keloid-history",
    "hypertrophic-scarring",
    "pregnancy",
    "anticoagulants",
    "chemotherapy-ongoing",
    "immunosuppression",
    "uncontrolled-diabetes",
    "pigment-allergy",
    "isotretinoin-recent",
    "alopecia-areata-active",
    "scalp-infection",
    "sunburn",
)

SEXES = ("male", "female", "other")

_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6}


@dataclass(frozen=True)
class ClientProfile:
    """A client's consultation answers, validated.

    ``head_circumference_cm`` is ``None`` when not measured: the treatment area then uses
    the default for the client's sex (``data/zones.toml``).
    """

    pattern: str
    sex: str = "male"
    age: int | None = None
    fitzpatrick: int | None = None
    ita_deg: float | None = None
    head_circumference_cm: float | None = None
    conditions: frozenset[str] = field(default_factory=frozenset)
    patch_count: int | None = None
    largest_patch_cm2: float | None = None
    scar_length_cm: float | None = None
    scar_area_cm2: float | None = None
    name: str | None = None

    @property
    def fitzpatrick_for_screening(self) -> int | None:
        """The Fitzpatrick type rules use: as given, else estimated from ITA, else None."""
        if self.fitzpatrick is not None:
            return self.fitzpatrick
        if self.ita_deg is not None:
            return fitzpatrick_from_ita(self.ita_deg)
        return None

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON-ready values (``None`` fields left out)."""
        out: dict[str, Any] = {
            "pattern": self.pattern,
            "sex": self.sex,
            "age": self.age,
            "fitzpatrick": self.fitzpatrick,
            "ita_deg": self.ita_deg,
            "head_circumference_cm": self.head_circumference_cm,
            "conditions": sorted(self.conditions),
            "patch_count": self.patch_count,
            "largest_patch_cm2": self.largest_patch_cm2,
            "scar_length_cm": self.scar_length_cm,
            "scar_area_cm2": self.scar_area_cm2,
            "name": self.name,
        }
        return {k: v for k, v in out.items() if v is not None}


_FIELDS = frozenset(ClientProfile.__dataclass_fields__)


def client_from_mapping(data: Mapping[str, Any]) -> ClientProfile:
    """Validate consultation answers and build a :class:`ClientProfile`.

    Keys are the field names of :class:`ClientProfile` (``-`` may stand for ``_``);
    the option names ``condition`` and ``ita`` are accepted for ``conditions`` and
    ``ita_deg``. Unknown keys are refused so that a
    misspelt answer is not silently ignored.
    """
    answers = {str(k).replace("-", "_"): v for k, v in data.items() if v is not None}
    # The command-line option names work as keys too (--condition, --ita).
    for option, key in (("condition", "conditions"), ("ita", "ita_deg")):
        if option in answers:
            if key in answers:
                raise PointillistError(f"give {key} or {option}, not both", field=key)
            answers[key] = answers.pop(option)
    unknown = sorted(set(answers) - _FIELDS)
    if unknown:
        raise PointillistError(
            f"unknown client field {unknown[0]!r}; known fields: {', '.join(sorted(_FIELDS))}",
            field=unknown[0],
        )
    if "pattern" not in answers:
        raise PointillistError(
            f"the hair-loss pattern is missing; give one of: {', '.join(PATTERNS)}",
            field="pattern",
        )
    pattern = _pattern(answers["pattern"])
    conditions = _conditions(answers.get("conditions", ()))
    return ClientProfile(
        pattern=pattern,
        sex=_sex_for(answers.get("sex"), pattern, conditions),
        age=_optional_int(answers, "age", 0, 120),
        fitzpatrick=_fitzpatrick(answers.get("fitzpatrick")),
        ita_deg=_optional_float(answers, "ita_deg", -90.0, 90.0, "degrees"),
        head_circumference_cm=_optional_float(answers, "head_circumference_cm", 40.0, 70.0, "cm"),
        conditions=conditions,
        patch_count=_optional_int(answers, "patch_count", 1, 200),
        largest_patch_cm2=_optional_float(answers, "largest_patch_cm2", 0.1, 500.0, "cm2"),
        scar_length_cm=_optional_float(answers, "scar_length_cm", 0.1, 60.0, "cm"),
        scar_area_cm2=_optional_float(answers, "scar_area_cm2", 0.1, 500.0, "cm2"),
        name=str(answers["name"]) if "name" in answers else None,
    )


def _pattern(value: Any) -> str:
    code = str(value).strip().lower()
    if code not in PATTERNS:
        raise PointillistError(
            f"unknown hair-loss pattern {value!r}; use one of: {', '.join(PATTERNS)}",
            field="pattern",
        )
    return code


def _sex(value: Any) -> str:
    code = str(value).strip().lower()
    if code not in SEXES:
        raise PointillistError(
            f"unknown sex {value!r}; use one of: {', '.join(SEXES)}", field="sex"
        )
    return code


def _sex_for(value: Any, pattern: str, conditions: frozenset[str]) -> str:
    """The sex given, checked against what the pattern and conditions imply; or implied.

    Norwood stages describe male-pattern loss and Ludwig stages female-pattern loss;
    pregnancy implies a woman. ``other`` is never contradicted. With nothing given and
    nothing implied the client is taken as male (the commonest SMP client).
    """
    implied: list[tuple[str, str]] = []
    if pattern in NORWOOD_PATTERNS:
        implied.append(("male", f"pattern {pattern} (Norwood stages describe male-pattern loss)"))
    if pattern in LUDWIG_PATTERNS:
        implied.append(
            ("female", f"pattern {pattern} (Ludwig stages describe female-pattern loss)")
        )
    if "pregnancy" in conditions:
        implied.append(("female", "the condition pregnancy"))
    if len({sex for sex, _ in implied}) > 1:
        raise PointillistError(
            f"{implied[0][1]} and {implied[1][1]} contradict each other; for a woman with "
            "male-pattern loss give --sex female and pattern diffuse-thinning or a ludwig stage",
            field="sex",
        )
    if value is None:
        return implied[0][0] if implied else "male"
    sex = _sex(value)
    for expected, reason in implied:
        if sex != "other" and sex != expected:
            hint = (
                "norwood-1..7 or diffuse-thinning"
                if sex == "male"
                else "ludwig-1..3 or diffuse-thinning"
            )
            if reason.startswith("the condition"):
                raise PointillistError(
                    f"{reason} does not fit sex {sex}; check the sex and the conditions",
                    field="sex",
                )
            raise PointillistError(
                f"{reason} does not fit sex {sex}; for a {sex} client use {hint}, "
                "or give --sex other",
                field="sex",
            )
    return sex


def _conditions(value: Any) -> frozenset[str]:
    items = [value] if isinstance(value, str) else list(value)
    codes = set()
    for item in items:
        code = str(item).strip().lower()
        if code not in CONDITIONS:
            raise PointillistError(
                f"unknown condition {item!r}; use any of: {', '.join(CONDITIONS)}",
                field="conditions",
            )
        codes.add(code)
    return frozenset(codes)


def _fitzpatrick(value: Any) -> int | None:
    if value is None:
        return None
    text = str(value).strip().upper()
    number = _ROMAN.get(text)
    if number is None and text.isdigit():
        number = int(text)
    if number is None or not 1 <= number <= 6:
        raise PointillistError(
            f"Fitzpatrick type {value!r} does not exist; give 1-6 (or I-VI)",
            field="fitzpatrick",
        )
    return number


def _optional_int(answers: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    if key not in answers:
        return None
    value = answers[key]
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
    ):
        raise PointillistError(f"{key} must be a whole number, not {value!r}", field=key)
    number = int(value)
    if not low <= number <= high:
        raise PointillistError(f"{key} {number} is out of range; give {low}-{high}", field=key)
    return number


def _optional_float(
    answers: Mapping[str, Any], key: str, low: float, high: float, unit: str
) -> float | None:
    if key not in answers:
        return None
    value = answers[key]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PointillistError(f"{key} must be a number, not {value!r}", field=key) from None
    if isinstance(value, bool) or not math.isfinite(number) or not low <= number <= high:
        raise PointillistError(
            f"{key} {value!r} is out of range; give {low:g}-{high:g} {unit}", field=key
        )
    return number
