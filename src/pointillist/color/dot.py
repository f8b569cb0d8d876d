"""The healed SMP dot: pigment shades, fading over the years, predicted colour on a skin.

A dot is predicted with the layered Kubelka-Munk model of :mod:`pointillist.color.optics`
for a model skin of the same ITA as the client's, then carried over to the client's
measured colour as a ratio in linear sRGB: ``dot = skin * (model dot / model skin)``
per channel. The ratio is what the renderer multiplies skin pixels by, so the numbers
this module reports are the colours the simulator draws.

Shades come from ``data/pigments.toml`` (generic carbon-black dilutions and a clinic's
brand shades), fading from ``data/fading.toml``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from pointillist.color import optics
from pointillist.color.difference import delta_e00
from pointillist.data import Override, load_table
from pointillist.errors import PointillistError

Lab = tuple[float, float, float]
RGB = tuple[float, float, float]

_MIN_RATIO = 1e-3


@dataclass(frozen=True)
class Shade:
    """A pigment shade as the model sees it.

    Attributes
    ----------
    id
        Short name used on the command line, e.g. ``"cb-1:3"``.
    name
        Name for people, e.g. ``"Carbon black 1:3"``.
    dilution
        Diluent parts per pigment part (generic shades), or the carbon-black dilution a
        brand shade is equivalent to.
    carbon_mg_per_cm2
        Effective carbon areal density of the freshly healed dot (model units).
    brand
        True for a clinic's own shade fitted to a measured dot.
    """

    id: str
    name: str
    dilution: float
    carbon_mg_per_cm2: float
    brand: bool = False


@dataclass(frozen=True)
class DotPrediction:
    """A predicted healed dot on one skin.

    Attributes
    ----------
    shade, depth_mm, years
        What was placed, how deep (top of the pigment band, mm) and how long ago (years
        since it healed).
    skin_lab
        The skin around the dot, CIELAB D65.
    lab
        The dot, CIELAB D65.
    ratio
        Linear-sRGB reflectance ratio dot / skin, each channel in (0, 1].
    delta_e00_to_skin
        CIEDE2000 contrast of the dot against the skin.
    blue_shift_deg
        How many degrees further toward blue the dot's difference from the skin points,
        compared with the same shade placed shallow and freshly healed (see
        :func:`blue_angle_deg`); positive is bluer.
    b_drop
        How much lower the dot's b* is than that shallow reference (positive is bluer).
    """

    shade: Shade
    depth_mm: float
    years: float
    skin_lab: Lab
    lab: Lab
    ratio: RGB
    delta_e00_to_skin: float
    blue_shift_deg: float
    b_drop: float


def _triple(values: Sequence[float] | np.ndarray[Any, Any]) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


def check_lab(lab: Sequence[float], what: str = "skin") -> Lab:
    """Validate a CIELAB triple given by a user and return it as floats."""
    if len(lab) != 3:
        raise PointillistError(f"{what} Lab needs three numbers L* a* b*, got {len(lab)}")
    lightness, a, b = (float(v) for v in lab)
    if not all(math.isfinite(v) for v in (lightness, a, b)):
        raise PointillistError(f"{what} Lab {tuple(lab)} is not finite; give three numbers")
    if not 0.0 < lightness < 100.0 or abs(a) > 128.0 or abs(b) > 128.0:
        raise PointillistError(
            f"{what} Lab ({lightness:g}, {a:g}, {b:g}) is out of range; "
            "give L* between 0 and 100 and a*, b* between -128 and 128"
        )
    return lightness, a, b


# ---------------------------------------------------------------------------------------
# Catalogue


def catalogue(override: Override = None) -> tuple[Shade, ...]:
    """All shades of the pigment catalogue: generic dilutions, then brand shades.

    Parameters
    ----------
    override
        A clinic's own ``pigments.toml`` (same shape as the packaged one), or its
        parsed tables.
    """
    table = load_table("pigments", override)
    undiluted = optics.undiluted_carbon_mg_per_cm2()
    shades: list[Shade] = []
    for entry in table.get("generic_shades", []):
        dilution = float(entry["dilution"])
        if dilution < 0:
            raise PointillistError(f"shade {entry['id']}: dilution must be 0 or more")
        shades.append(
            Shade(
                id=str(entry["id"]),
                name=str(entry["name"]),
                dilution=dilution,
                carbon_mg_per_cm2=undiluted / (1.0 + dilution),
            )
        )
    for entry in table.get("brand_shades", []):
        shades.append(_fit_brand_shade(entry))
    if not shades:
        raise PointillistError("the pigment catalogue has no shades; add [[generic_shades]]")
    ids = [s.id for s in shades]
    if len(set(ids)) != len(ids):
        raise PointillistError("the pigment catalogue repeats a shade id; make ids unique")
    return tuple(shades)


def find_shade(shade_id: str, override: Override = None) -> Shade:
    """The catalogue shade with this id (case-insensitive)."""
    shades = catalogue(override)
    for shade in shades:
        if shade.id.lower() == shade_id.lower():
            return shade
    known = ", ".join(s.id for s in shades)
    raise PointillistError(f"unknown pigment shade {shade_id!r}; choose one of: {known}")


def _fit_brand_shade(entry: dict[str, Any]) -> Shade:
    try:
        shade_id, name = str(entry["id"]), str(entry["name"])
        measured = entry["measured"]
        skin_lab = check_lab(measured["skin_lab"], "brand shade skin")
        dot_lab = check_lab(measured["dot_lab"], "brand shade dot")
        depth = float(measured["depth_mm"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PointillistError(
            f"brand shade entry {entry!r} needs id, name and measured = "
            "{ skin_lab, dot_lab, depth_mm }"
        ) from exc
    if dot_lab[0] >= skin_lab[0]:
        raise PointillistError(f"brand shade {shade_id}: the measured dot is not darker than skin")
    target = dot_lab[0]

    def lightness(carbon: float) -> float:
        probe = Shade(shade_id, name, 0.0, carbon, brand=True)
        return predict_dot(skin_lab, probe, depth).lab[0]

    lo, hi = math.log(1e-6), math.log(1.0)
    darkest = lightness(math.exp(hi))
    if darkest > target:
        raise PointillistError(
            f"brand shade {shade_id}: the measured dot (L* {target:g}) is darker than the "
            f"model's darkest dot at {depth:g} mm on that skin (L* {darkest:.1f}); measure the "
            "centre of a healed dot, and give the depth it was placed at"
        )
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if lightness(math.exp(mid)) > target:
            lo = mid
        else:
            hi = mid
    carbon = math.exp(0.5 * (lo + hi))
    equivalent = max(0.0, optics.undiluted_carbon_mg_per_cm2() / carbon - 1.0)
    return Shade(shade_id, name, round(equivalent, 2), carbon, brand=True)


# ---------------------------------------------------------------------------------------
# Fading


def _fading() -> dict[str, Any]:
    return load_table("fading")


def pigment_after(shade: Shade, depth_mm: float, years: float) -> optics.PigmentLayer:
    """The pigment band of ``shade`` placed at ``depth_mm``, ``years`` after healing.

    Carbon is lost exponentially, fast just under the epidermis and slowly deeper; the
    band sinks, thickens and widens (``data/fading.toml``).
    """
    if not math.isfinite(years) or years < 0.0:
        raise PointillistError(f"years {years} must be 0 or more")
    f = _fading()
    loss, spread = f["carbon_loss"], f["spreading"]
    below_junction = max(0.0, depth_mm - optics.epidermis_mm())
    rate = loss["dermal_rate_per_year"] + loss["junction_rate_per_year"] * math.exp(
        -below_junction / loss["junction_decay_mm"]
    )
    d0 = spread["dot_diameter_mm"]
    widen = (d0 / (d0 + spread["widen_mm_per_year"] * years)) ** 2
    return optics.PigmentLayer(
        carbon_mg_per_cm2=shade.carbon_mg_per_cm2 * math.exp(-rate * years) * widen,
        depth_mm=depth_mm + spread["sink_mm_per_year"] * years,
        thickness_mm=optics.pigment_layer_mm() + spread["thicken_mm_per_year"] * years,
    )


def reference_depth_mm() -> float:
    """Depth of the shallow placement the blue shift is measured against, mm."""
    return float(_fading()["blue_shift"]["reference_depth_mm"])


# ---------------------------------------------------------------------------------------
# Prediction


def melanin_fraction_for_skin(skin_lab: Sequence[float]) -> float:
    """The epidermal melanin volume fraction whose model skin has this skin's ITA."""
    from pointillist.domain.skin_type import ita_deg

    return optics.melanin_fraction_for_ita(ita_deg(float(skin_lab[0]), float(skin_lab[2])))


def lab_to_linear_srgb(lab: Sequence[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Linear sRGB of a CIELAB (D65) colour, clipped to small positive values."""
    rgb = optics.xyz_to_linear_srgb(optics.lab_to_xyz(np.asarray(lab, dtype=float)))
    return np.clip(rgb, 1e-4, None)


def linear_srgb_to_lab(rgb: Sequence[float] | np.ndarray[Any, Any]) -> Lab:
    """CIELAB (D65) of a linear sRGB colour."""
    return _triple(optics.xyz_to_lab(optics.linear_srgb_to_xyz(np.asarray(rgb, dtype=float))))


def lab_to_srgb8(lab: Sequence[float]) -> tuple[int, int, int]:
    """8-bit sRGB of a CIELAB (D65) colour, clipped to the gamut (for figures and swatches)."""
    rgb = optics.linear_to_srgb(lab_to_linear_srgb(lab))
    r, g, b = (round(float(v) * 255) for v in rgb)
    return r, g, b


@lru_cache(maxsize=8192)
def _model_ratio(melanin: float, carbon: float, depth: float, thickness: float) -> RGB:
    skin = optics.xyz_to_linear_srgb(optics.reflectance_to_xyz(optics.skin_reflectance(melanin)))
    layer = optics.PigmentLayer(carbon, depth, thickness)
    dot = optics.xyz_to_linear_srgb(
        optics.reflectance_to_xyz(optics.skin_reflectance(melanin, layer))
    )
    ratio = np.clip(dot / np.clip(skin, 1e-6, None), _MIN_RATIO, 1.0)
    return _triple(ratio)


def blue_angle_deg(dot_lab: Sequence[float], skin_lab: Sequence[float]) -> float:
    """Direction of a dot's difference from the skin in the (L*, b*) plane, degrees.

    0 means the dot is only darker than the skin, 90 that it differs only by being
    bluer (lower b*): ``atan2(b*_skin - b*_dot, L*_skin - L*_dot)``. Carbon just under
    the epidermis darkens with little blue; deeper, dermal scattering (Tyndall) returns
    blue light from above the pigment while red reaches it and is absorbed, and the
    angle grows (Arch Dermatol 2006;142:1250).
    """
    return math.degrees(
        math.atan2(float(skin_lab[2]) - float(dot_lab[2]), float(skin_lab[0]) - float(dot_lab[0]))
    )


def _round_key(x: float) -> float:
    return round(x, 6)


def _dot(skin_lab: Lab, melanin: float, layer: optics.PigmentLayer) -> tuple[Lab, RGB]:
    ratio = _model_ratio(
        _round_key(melanin),
        _round_key(layer.carbon_mg_per_cm2),
        _round_key(layer.depth_mm),
        _round_key(layer.thickness_mm),
    )
    lab = linear_srgb_to_lab(lab_to_linear_srgb(skin_lab) * np.asarray(ratio))
    return lab, ratio


def shades_light_to_dark(override: Override = None) -> tuple[Shade, ...]:
    """The catalogue's shades from the lightest (least carbon) to the darkest."""
    return tuple(sorted(catalogue(override), key=lambda s: (s.carbon_mg_per_cm2, s.id)))


def dot_ratio(skin_lab: Sequence[float], shade: Shade, depth_mm: float, years: float = 0.0) -> RGB:
    """The ratio of :func:`predict_dot` alone: linear-sRGB reflectance of the dot over
    the skin, per channel in (0, 1]. Cheap (cached model runs, no CIEDE2000), for
    previews that switch shades on every edit."""
    skin = check_lab(skin_lab)
    _, ratio = _dot(skin, melanin_fraction_for_skin(skin), pigment_after(shade, depth_mm, years))
    return ratio


def predict_dot(
    skin_lab: Sequence[float], shade: Shade, depth_mm: float, years: float = 0.0
) -> DotPrediction:
    """Predict the healed dot of ``shade`` at ``depth_mm`` on this skin, ``years`` on.

    Parameters
    ----------
    skin_lab
        The client's skin, CIELAB D65.
    shade
        A catalogue shade (:func:`catalogue`, :func:`find_shade`).
    depth_mm
        Depth of the top of the pigment band below the skin surface, mm (dermis).
    years
        Years since the dot healed (0 = the healed look).
    """
    skin = check_lab(skin_lab)
    if not math.isfinite(depth_mm) or not optics.epidermis_mm() <= depth_mm <= 3.0:
        raise PointillistError(
            f"depth {depth_mm} mm is out of range; give a depth from "
            f"{optics.epidermis_mm():g} to 3 mm (SMP works at about 0.2-0.6 mm)"
        )
    melanin = melanin_fraction_for_skin(skin)
    lab, ratio = _dot(skin, melanin, pigment_after(shade, depth_mm, years))
    ref_lab, _ = _dot(skin, melanin, pigment_after(shade, reference_depth_mm(), 0.0))
    return DotPrediction(
        shade=shade,
        depth_mm=depth_mm,
        years=years,
        skin_lab=skin,
        lab=lab,
        ratio=ratio,
        delta_e00_to_skin=delta_e00(lab, skin),
        blue_shift_deg=blue_angle_deg(lab, skin) - blue_angle_deg(ref_lab, skin),
        b_drop=ref_lab[2] - lab[2],
    )
