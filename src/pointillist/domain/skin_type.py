"""Skin-colour category and Fitzpatrick estimate from the individual typology angle (ITA).

The thresholds live in ``data/skin_types.toml`` with their sources. Both the screening
rules (keloid-risk caution for darker skin) and the colour layer use these functions.
"""

from __future__ import annotations

import math
from typing import Any

from pointillist.data import load_table
from pointillist.errors import PointillistError

FITZPATRICK_ROMAN = ("I", "II", "III", "IV", "V", "VI")


def _bands(key: str) -> list[dict[str, Any]]:
    bands: list[dict[str, Any]] = load_table("skin_types")[key]["bands"]
    return bands


def ita_deg(lightness: float, b_star: float) -> float:
    """Individual typology angle in degrees: ``atan2(L* - 50, b*)`` (Chardon et al. 1991).

    Parameters
    ----------
    lightness
        CIE L* (0-100), D65.
    b_star
        CIE b*, D65.
    """
    return math.degrees(math.atan2(lightness - 50.0, b_star))


def ita_category(ita: float) -> str:
    """Chardon / Del Bino skin-colour category for an ITA in degrees, e.g. ``"tan"``."""
    _check_ita(ita)
    for band in _bands("ita_categories"):
        if "min_ita_deg" not in band or ita > band["min_ita_deg"]:
            return str(band["name"])
    raise AssertionError("the last ITA band has no lower bound")


def fitzpatrick_from_ita(ita: float) -> int:
    """Fitzpatrick phototype (1-6) estimated from ITA in degrees (Wilkes et al. 2015).

    An estimate only: ITA measures colour, the phototype describes how skin burns and
    tans, and the two are not interchangeable (see :data:`FITZPATRICK_CAVEAT`).
    """
    _check_ita(ita)
    for band in _bands("fitzpatrick_from_ita"):
        if "min_ita_deg" not in band or ita > band["min_ita_deg"]:
            return int(band["type"])
    raise AssertionError("the last Fitzpatrick band has no lower bound")


def fitzpatrick_caveat() -> str:
    """The sentence every Fitzpatrick estimate from colour must carry."""
    return str(load_table("skin_types")["fitzpatrick_from_ita"]["caveat"])


def _check_ita(ita: float) -> None:
    if not math.isfinite(ita) or not -90.0 <= ita <= 90.0:
        raise PointillistError(f"ITA {ita} degrees is out of range; give a value from -90 to 90")
