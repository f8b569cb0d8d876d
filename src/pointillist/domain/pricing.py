"""The quote: an itemised price for the course from the clinic's price table.

``total = (base fee + rate per cm2 x area) x experience x clinic tier, + tax``, each step
an itemised line rounded to the cent, so the lines always add up to the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pointillist.errors import PointillistError

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class QuoteLine:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    """An itemised quote; ``total`` is the sum of ``lines``.

    ``deposit_note`` says why no deposit is asked, when ``deposit`` is zero for a reason.
    """

    currency: str
    lines: tuple[QuoteLine, ...]
    deposit: Decimal
    deposit_note: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


def experience_levels(table: Mapping[str, Any]) -> tuple[str, ...]:
    """The practitioner experience levels the price table knows."""
    return tuple(k for k in table["experience"] if k != "source")


def clinic_tiers(table: Mapping[str, Any]) -> tuple[str, ...]:
    """The clinic tiers the price table knows."""
    return tuple(k for k in table["clinic_tier"] if k != "source")


def quote(
    area_cm2: float,
    table: Mapping[str, Any],
    *,
    experience: str = "standard",
    clinic_tier: str = "standard",
) -> Quote:
    """Price the course for ``area_cm2`` of scalp."""
    if experience not in experience_levels(table):
        raise PointillistError(
            f"unknown experience level {experience!r}; use one of: "
            f"{', '.join(experience_levels(table))}",
            field="experience",
        )
    if clinic_tier not in clinic_tiers(table):
        raise PointillistError(
            f"unknown clinic tier {clinic_tier!r}; use one of: {', '.join(clinic_tiers(table))}",
            field="clinic_tier",
        )
    symbol = str(table["currency"])
    rate = _money(table["rate_per_cm2"])
    lines = [
        QuoteLine("Consultation, design and set-up (base fee)", _money(table["base_fee"])),
        QuoteLine(
            f"Treatment area {area_cm2:.0f} cm² at {rate} {symbol}/cm²",
            _cents(rate * Decimal(str(area_cm2))),
        ),
    ]
    for label, factor in (
        (f"{experience.capitalize()} practitioner", table["experience"][experience]),
        (f"{clinic_tier.capitalize()} clinic", table["clinic_tier"][clinic_tier]),
    ):
        factor = Decimal(str(factor))
        if factor != 1:
            subtotal = sum((line.amount for line in lines), Decimal("0"))
            lines.append(QuoteLine(f"{label} (x{factor})", _cents(subtotal * (factor - 1))))
    tax_rate = Decimal(str(table["tax_rate"]))
    if tax_rate:
        subtotal = sum((line.amount for line in lines), Decimal("0"))
        lines.append(QuoteLine(f"Tax ({float(tax_rate) * 100:g}%)", _cents(subtotal * tax_rate)))
    total = sum((line.amount for line in lines), Decimal("0"))
    deposit = _cents(total * Decimal(str(table["deposit_fraction"])))
    return Quote(symbol, tuple(lines), deposit)


def _money(value: Any) -> Decimal:
    return _cents(Decimal(str(value)))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)
