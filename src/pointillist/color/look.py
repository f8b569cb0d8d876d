"""The healed look of SMP dots, calibrated by the area they shade, not by one dot.

From conversational distance nobody sees single 0.7 mm dots: the treated scalp reads as
a shadow, and what matters is how much darker the whole area is. So the look is fixed
in three steps (numbers in ``data/rendering.toml``):

1. **Colour.** A healed dot of shallow, freshly healed carbon reads like the tip of a
   dark stubble hair under the skin: its core takes the colour of dark stubble, as a
   reflectance ratio to the client's skin in linear sRGB (``[stubble]``).
2. **Optics.** The layered Kubelka-Munk model (:mod:`pointillist.color.dot`) steers that
   colour channel by channel: each channel's optical density is scaled by the model's
   density for the chosen shade, depth and years over its density for the same shade
   placed shallow and freshly healed. Deeper pigment and the years lighten the dot and
   turn it bluer (Tyndall), exactly as far as the model says, never to invisibility.
3. **Area.** The share of each dot's footprint that carries the colour (``coverage``) is
   solved so that at full density (``plan.toml`` ``[density] final_per_cm2``), healed,
   the mean L* of the area falls by the target for the skin type (``[area_target]``).
   Fewer dots (early sessions) and the years then give proportionally less.

The renderer (:func:`pointillist.imaging.render.render_impressions`) draws a
:class:`DotLook`: the dot's footprint is its outline (``plan.toml`` ``[impression]``,
the healed apparent size) with a soft edge of ``halo_mm``, and every dot keeps the same
ink whatever the pixel size, so the calibration holds at any photo resolution.

The optics of the recommended shade are tabulated once per ITA and years in
``data/dot_ratios.toml`` (regenerate with ``python -m pointillist.color.look``), so a
preview needs no optical model run and no colour-science import.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pointillist.color import optics
from pointillist.color.dot import RGB, Lab, check_lab
from pointillist.data import Override, load_table
from pointillist.domain.skin_type import ita_deg
from pointillist.errors import PointillistError

EDGE_HALF_WIDTH = 2.13
"""A dot's edge falls from full to no coverage over +-this many sigmas (:func:`edge_coverage`)."""

_QUADRATURE = 64
_MIN_RATIO = 1e-3
_TABLE = "dot_ratios"


def edge_coverage(t: NDArray[np.floating] | float) -> NDArray[np.float64]:
    """Coverage of a dot's soft edge at ``t`` sigmas outside the outline (inside < 0).

    A cubic smoothstep over ``t`` in +-:data:`EDGE_HALF_WIDTH`: within 0.021 of the
    Gaussian-blurred step ``0.5 * erfc(t / sqrt 2)`` everywhere, but exactly zero beyond
    its support, so the work per dot stays small and pixels away from dots stay exact.
    """
    u = np.clip(0.5 - np.asarray(t, dtype=np.float64) / (2.0 * EDGE_HALF_WIDTH), 0.0, 1.0)
    return np.asarray(u * u * (3.0 - 2.0 * u), dtype=np.float64)


def footprint_area(sigma: float) -> float:
    """Integrated coverage of a dot whose edge is blurred by ``sigma``, over its outline's area.

    The dot covers ``edge_coverage((q - 1) / sigma)`` at normalised radius ``q`` (the
    outline is ``q = 1``, ``sigma`` in units of the radius). The integral
    ``int 2 q coverage(q) dq`` has a closed form: with ``u = alpha - beta q`` the
    smoothstep's argument (``beta = 1 / (2 H sigma)``, ``alpha = 1/2 + beta``,
    ``m = min(alpha, 1)``, ``q1 = max(alpha - 1, 0) / beta``) it is
    ``q1^2 + 2 / beta^2 (alpha (m^3 - m^4 / 2) - 3 m^4 / 4 + 2 m^5 / 5)``. It is 1 for a
    sharp dot and grows with the blur (the soft edge adds area outside the outline).
    """
    if sigma < 1e-6:  # sharp to double precision (the excess area grows as sigma^2)
        return 1.0
    beta = 1.0 / (2.0 * EDGE_HALF_WIDTH * sigma)
    alpha = 0.5 + beta
    m = min(alpha, 1.0)
    q1 = max(alpha - 1.0, 0.0) / beta
    tail = alpha * (m**3 - 0.5 * m**4) - 0.75 * m**4 + 0.4 * m**5
    return q1 * q1 + 2.0 * tail / (beta * beta)


@dataclass(frozen=True)
class DotLook:
    """How the healed dots of a course are drawn on one client's skin.

    Attributes
    ----------
    ratio_rgb
        Reflectance of the dot's core over the bare skin around it, linear sRGB, each
        channel in (0, 1] (smaller is darker).
    coverage
        Share of each dot's footprint that takes that colour, in (0, 1]: the renderer
        multiplies every dot's opacity by it.
    halo_mm
        Sigma of the dot's soft edge on the scalp, mm (light scattered in the dermis).
    diameter_mm
        Mean healed diameter of a dot's outline on the scalp, mm (``plan.toml``).
    target_drop_l
        The L* drop of the area at full density, healed, that the look is calibrated to
        (None for the look used without a skin colour).
    full_density_drop_l
        The L* drop of the area at full density with this look (at the years shown);
        None without a skin colour.
    shade, depth_mm
        The pigment shade id and depth whose optics steer the colour (None without
        a skin colour).
    """

    ratio_rgb: RGB
    coverage: float
    halo_mm: float
    diameter_mm: float
    target_drop_l: float | None = None
    full_density_drop_l: float | None = None
    shade: str | None = None
    depth_mm: float | None = None

    @property
    def apparent_diameter_mm(self) -> float:
        """Diameter of the dot as it reads, mm: where its soft edge falls to 10% cover."""
        # edge_coverage(t) = 0.1 at t = 1.28 sigmas outside the outline (cubic smoothstep).
        return self.diameter_mm + 2.0 * 1.28 * self.halo_mm


def _rendering(override: str | Path | None) -> dict[str, Any]:
    return load_table("rendering", override)


def default_look(
    *, plan_override: str | Path | None = None, rendering_override: str | Path | None = None
) -> DotLook:
    """The look drawn when the skin colour is unknown (``rendering.toml`` ``[optics]``)."""
    table = _rendering(rendering_override)
    ratio = table["optics"]["default_dot_ratio_rgb"]
    return DotLook(
        ratio_rgb=(float(ratio[0]), float(ratio[1]), float(ratio[2])),
        coverage=1.0,
        halo_mm=float(table["healed_dot"]["halo_mm"]),
        diameter_mm=float(load_table("plan", plan_override)["impression"]["diameter_mm"]),
    )


def area_target_drop_l(ita: float, override: str | Path | None = None) -> float:
    """Target L* drop of a fully treated area, healed, for a skin of this ITA (degrees).

    ``rendering.toml`` ``[area_target]`` gives one figure per Fitzpatrick type; they sit
    at the middle of each type's ITA band (``optics.toml`` ``[reference_skin]``) and are
    interpolated between (held at the ends), so that the look does not jump at a band
    edge.
    """
    drops = [float(v) for v in _rendering(override)["area_target"]["drop_l_by_fitzpatrick"]]
    itas = [float(v) for v in load_table("optics")["reference_skin"]["ita_deg_by_fitzpatrick"]]
    if len(drops) != 6 or any(not 0.0 < d < 60.0 for d in drops):
        raise PointillistError(
            "rendering.toml [area_target] drop_l_by_fitzpatrick: give six L* drops (types "
            "I to VI), each between 0 and 60"
        )
    # ITA falls from type I to VI: interpolate on the reversed (rising) arrays.
    return float(np.interp(ita, itas[::-1], drops[::-1]))


def _normal_quantiles(mean: float, sd: float, lo: float, hi: float) -> NDArray[np.float64]:
    """Equal-probability samples of a normal law clipped to [lo, hi], as the planner draws."""
    law = statistics.NormalDist(mean, max(sd, 1e-12))
    p = (np.arange(_QUADRATURE) + 0.5) / _QUADRATURE
    samples: NDArray[np.float64] = np.clip([law.inv_cdf(float(v)) for v in p], lo, hi)
    return samples


def ink_per_dot_mm2(
    ratio_rgb: Sequence[float],
    halo_mm: float,
    *,
    plan_override: str | Path | None = None,
    rendering_override: str | Path | None = None,
) -> float:
    """Mean integrated coverage of one impression on the scalp, mm2, at ``coverage = 1``.

    The expectation, over the planner's spread of diameters, opacities and shades
    (``plan.toml`` ``[impression]``, ``rendering.toml`` ``[dot]``), of the outline's area
    times :func:`footprint_area` times the dot's strength (its opacity, and its shade as
    an exponent on the ratio relative to the nominal darkening, as the renderer draws it).
    Times the density (dots per mm2), it is the share of the area the dots darken.
    """
    spec = load_table("plan", plan_override)["impression"]
    dot = _rendering(rendering_override)["dot"]
    area_opacity, shade = _ink_terms(
        float(halo_mm),
        tuple(
            float(spec[k])
            for k in ("diameter_mm", "diameter_jitter_mm", "min_diameter_mm", "max_diameter_mm")
        ),
        tuple(float(dot[k]) for k in ("opacity", "opacity_jitter", "min_opacity", "max_opacity")),
        tuple(float(dot[k]) for k in ("shade_jitter", "min_shade", "max_shade")),
    )
    mean_log = float(np.mean(np.log(np.asarray(ratio_rgb, dtype=float))))
    nominal = 1.0 - math.exp(mean_log)
    strength = float(np.mean((1.0 - np.exp(shade * mean_log)) / nominal))
    return area_opacity * strength


@lru_cache(maxsize=64)
def _ink_terms(
    halo_mm: float,
    diameter: tuple[float, ...],
    opacity: tuple[float, ...],
    shade: tuple[float, ...],
) -> tuple[float, NDArray[np.float64]]:
    """The parts of :func:`ink_per_dot_mm2` that do not depend on the dot's colour: the
    mean footprint area times the mean opacity, and the shade quantiles. Cached: the look
    is solved by bisection over the colour, each step asking for the ink again."""
    radius = 0.5 * _normal_quantiles(*diameter)
    area = float(np.mean([math.pi * r * r * footprint_area(halo_mm / r) for r in radius]))
    mean_opacity = float(np.mean(_normal_quantiles(*opacity)))
    shades = _normal_quantiles(1.0, *shade)
    shades.flags.writeable = False
    return area * mean_opacity, shades


def area_drop_l(skin_lab: Sequence[float], ratio_rgb: Sequence[float], darkened: float) -> float:
    """L* drop of an area whose share ``darkened`` is pigmented with this ratio.

    Seen from afar, light mixes linearly: each channel of the area is
    ``skin * (1 - darkened * (1 - ratio))``.
    """
    skin = _linear(skin_lab)
    luminance = np.asarray(optics.SRGB_LUMINANCE)
    y_skin = float(luminance @ skin)
    factor = 1.0 - darkened * (1.0 - np.asarray(ratio_rgb, dtype=float))
    y_area = float(luminance @ (skin * factor))
    return float(optics.lightness_from_y(y_skin) - optics.lightness_from_y(y_area))


def _linear(lab: Sequence[float]) -> NDArray[np.float64]:
    return _linear_of(float(lab[0]), float(lab[1]), float(lab[2]))


@lru_cache(maxsize=256)
def _linear_of(lightness: float, a: float, b: float) -> NDArray[np.float64]:
    # Cached: solving a look asks for the same skin's colour at every bisection step.
    xyz = optics.lab_to_xyz(np.asarray([lightness, a, b], dtype=float))
    rgb = np.asarray(np.clip(optics.xyz_to_linear_srgb(xyz), 1e-4, None), dtype=np.float64)
    rgb.flags.writeable = False
    return rgb


def stubble_ratio(skin_lab: Sequence[float], override: str | Path | None = None) -> RGB:
    """Ratio of dark stubble to this skin in linear sRGB: the core of a shallow healed dot.

    Capped at ``[stubble] max_ratio`` per channel, so that on skin as dark as stubble
    the dot still darkens it (carbon is darker than any skin).
    """
    table = _rendering(override)["stubble"]
    stubble = _linear(check_lab(table["lab"], "stubble"))
    ratio = np.clip(stubble / _linear(skin_lab), _MIN_RATIO, float(table["max_ratio"]))
    return float(ratio[0]), float(ratio[1]), float(ratio[2])


# ---------------------------------------------------------------------------------------
# The optics of the recommended shade, tabulated


@dataclass(frozen=True)
class _Optics:
    """The dot against the same shade shallow and fresh: see :func:`relative_optics`."""

    density: float
    tint: NDArray[np.float64]
    shade: str
    depth_mm: float


@cache
def _table() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], Any, Any]:
    t = load_table(_TABLE)
    itas = np.asarray(t["ita_deg"], dtype=float)
    years = np.asarray(t["years"], dtype=float)
    relative = np.asarray(t["density_and_tint"], dtype=float)
    if relative.shape != (itas.size, years.size, 4) or not np.isfinite(relative).all():
        raise PointillistError(
            f"data/{_TABLE}.toml is inconsistent; regenerate it with "
            "`python -m pointillist.color.look`"
        )
    return itas, years, relative, list(t["shade"]), list(t["depth_mm"])


def _tabulated_optics(ita: float, years: float) -> _Optics:
    itas, grid_years, relative, shades, depths = _table()
    i = int(np.clip(np.searchsorted(itas, ita) - 1, 0, itas.size - 2))
    j = int(np.clip(np.searchsorted(grid_years, years) - 1, 0, grid_years.size - 2))
    u = float(np.clip((ita - itas[i]) / (itas[i + 1] - itas[i]), 0.0, 1.0))
    v = float(np.clip((years - grid_years[j]) / (grid_years[j + 1] - grid_years[j]), 0.0, 1.0))
    cell = relative[i : i + 2, j : j + 2]
    value = (
        (1 - u) * (1 - v) * cell[0, 0]
        + u * (1 - v) * cell[1, 0]
        + (1 - u) * v * cell[0, 1]
        + u * v * cell[1, 1]
    )
    nearest = i if u < 0.5 else i + 1
    return _Optics(float(value[0]), value[1:], str(shades[nearest]), float(depths[nearest]))


def _model_optics(
    skin_lab: Lab,
    shade: str | None,
    depth_mm: float | None,
    years: float,
    pigments: str | Path | None = None,
) -> _Optics:
    from pointillist.color.dot import find_shade, predict_dot, reference_depth_mm
    from pointillist.color.recommend import recommend

    if shade is not None and depth_mm is not None:
        chosen, depth = find_shade(shade, pigments), float(depth_mm)
    else:
        best = recommend(skin_lab, depth_mm=depth_mm, shade=shade, override=pigments).best.healed
        chosen, depth = best.shade, best.depth_mm
    dot = np.log(np.asarray(predict_dot(skin_lab, chosen, depth, years).ratio))
    fresh = np.log(np.asarray(predict_dot(skin_lab, chosen, reference_depth_mm(), 0.0).ratio))
    weights = np.asarray(optics.SRGB_LUMINANCE)
    dot_y, fresh_y = float(weights @ dot), float(weights @ fresh)
    density = dot_y / fresh_y
    return _Optics(density, dot - density * fresh, chosen.id, depth)


def relative_optics(
    skin_lab: Sequence[float],
    *,
    years: float = 0.0,
    shade: str | None = None,
    depth_mm: float | None = None,
    pigments_override: str | Path | None = None,
) -> tuple[float, RGB, str, float]:
    """How the healed dot differs from the same shade placed shallow and freshly healed.

    From the layered Kubelka-Munk model, with the shade and depth :func:`recommend`
    picks unless given, the dot's reflectance ratio ``r`` and that of the reference
    ``r0`` (0.15 mm, healed; ``fading.toml`` ``[blue_shift]``) give

    - ``density = log(r_Y) / log(r0_Y)``, the dot's optical density relative to the
      reference, with ``log(r_Y) = sum_c Y_c log(r_c)`` (sRGB luminance weights): 1 is
      as dark as shallow fresh carbon; deeper placement and the years give less;
    - ``tint = log(r) - density * log(r0)`` per channel, how the dot's colour departs
      from the reference merely lightened to the same luminance (``sum_c Y_c tint_c =
      0``): positive in blue and negative in red is the blue drift.

    Without ``shade``, ``depth_mm`` and ``pigments_override`` (a clinic's catalogue) the
    figures come from ``data/dot_ratios.toml``, tabulated by ITA and years (the model
    skin of the same ITA, as the model always uses).

    Returns
    -------
    density, tint (r, g, b), shade id, depth in mm.
    """
    skin = check_lab(skin_lab)
    if not math.isfinite(years) or years < 0.0:
        raise PointillistError(f"years {years} must be 0 or more")
    if shade is None and depth_mm is None and pigments_override is None:
        found = _tabulated_optics(ita_deg(skin[0], skin[2]), years)
    else:
        found = _model_optics(skin, shade, depth_mm, years, pigments_override)
    t = found.tint
    return found.density, (float(t[0]), float(t[1]), float(t[2])), found.shade, found.depth_mm


def dot_look(
    skin_lab: Sequence[float],
    *,
    years: float = 0.0,
    shade: str | None = None,
    depth_mm: float | None = None,
    plan_override: str | Path | None = None,
    rendering_override: str | Path | None = None,
    pigments_override: str | Path | None = None,
) -> DotLook:
    """The look of this client's healed dots, calibrated by the area (see the module).

    Parameters
    ----------
    skin_lab
        The client's skin, CIELAB D65 (e.g. ``measure_skin(...).lab``).
    years
        Years since the dots healed: 0 is the healed look; later the dots are lighter
        and bluer as far as the optical model predicts (the coverage stays that of the
        healed look).
    shade, depth_mm
        A catalogue shade id and a depth in mm whose optics steer the colour; None takes
        the recommended ones (:func:`pointillist.color.recommend.recommend`).
    plan_override, rendering_override, pigments_override
        A clinic's ``plan.toml`` (dot sizes, full density), ``rendering.toml`` and
        ``pigments.toml`` (its catalogue, for ``shade``).
    """
    skin = check_lab(skin_lab)
    table = _rendering(rendering_override)
    halo = float(table["healed_dot"]["halo_mm"])
    plan = load_table("plan", plan_override)
    per_mm2 = float(plan["density"]["final_per_cm2"]) / 100.0
    target = area_target_drop_l(ita_deg(skin[0], skin[2]), rendering_override)
    healed = relative_optics(
        skin, years=0.0, shade=shade, depth_mm=depth_mm, pigments_override=pigments_override
    )
    later = relative_optics(
        skin, years=years, shade=shade, depth_mm=depth_mm, pigments_override=pigments_override
    )
    _, _, shade_id, depth = later
    base = np.log(np.asarray(stubble_ratio(skin, rendering_override)))

    def ratio(found: tuple[float, RGB, str, float], gain: float) -> RGB:
        density, tint = found[0], np.asarray(found[1])
        r = np.clip(np.exp(base * density * gain + tint), _MIN_RATIO, 1.0)
        return float(r[0]), float(r[1]), float(r[2])

    def darkened(r: RGB) -> float:
        ink = ink_per_dot_mm2(
            r, halo, plan_override=plan_override, rendering_override=rendering_override
        )
        return per_mm2 * ink

    # Coverage first: dots keep the stubble colour and cover as much of their footprint
    # as the target needs. Only when full coverage is not enough (small or sparse dots,
    # or a very light skin target) are the dots darkened beyond stubble.
    gain = 1.0
    fresh = ratio(healed, gain)
    coverage = _solve(lambda c: area_drop_l(skin, fresh, c * darkened(fresh)), target, 0.0, 1.0)
    if coverage is None:
        coverage = 1.0
        found = _solve(
            lambda g: area_drop_l(skin, ratio(healed, g), darkened(ratio(healed, g))),
            target,
            1.0,
            20.0,
        )
        gain = 20.0 if found is None else found
    now = ratio(later, gain)
    return DotLook(
        ratio_rgb=now,
        coverage=float(coverage),
        halo_mm=halo,
        diameter_mm=float(plan["impression"]["diameter_mm"]),
        target_drop_l=target,
        full_density_drop_l=area_drop_l(skin, now, coverage * darkened(now)),
        shade=shade_id,
        depth_mm=depth,
    )


def with_shade(
    look: DotLook,
    skin_lab: Sequence[float],
    shade: str,
    *,
    years: float = 0.0,
    plan_override: str | Path | None = None,
    rendering_override: str | Path | None = None,
    pigments_override: Override = None,
) -> DotLook:
    """``look`` (calibrated for its own, recommended shade) drawn in another catalogue shade.

    The dots stay where and as large as they are, at the same depth; the other shade
    holds more or less carbon, so each dot is darker or lighter by what the optical model
    says: each channel's optical density (``-log ratio``) is scaled by the model's
    density for ``shade`` over its density for ``look.shade``, both at ``look.depth_mm``
    and ``years`` on. The calibration to the area target (:func:`dot_look`) is kept for
    the recommended shade only, so the practitioner sees what a lighter or darker mix
    does rather than the same shadow reached another way.

    Raises
    ------
    PointillistError
        For a shade not in the catalogue (naming the valid ones), or a look without a
        skin colour (nothing to scale it from).
    """
    from pointillist.color.dot import dot_ratio, find_shade

    chosen = find_shade(shade, pigments_override)
    if look.shade is None or look.depth_mm is None:
        raise PointillistError(
            f"shade {chosen.id}: the dots are drawn in the default colour (no skin colour), "
            "so another shade cannot be shown"
        )
    if chosen.id == look.shade:
        return look
    skin = check_lab(skin_lab)
    try:
        reference = find_shade(look.shade, pigments_override)
    except PointillistError:
        # The tabulated look names a packaged shade a clinic's catalogue may not hold.
        reference = find_shade(look.shade)
    new = np.log(np.asarray(dot_ratio(skin, chosen, look.depth_mm, years)))
    old = np.log(np.asarray(dot_ratio(skin, reference, look.depth_mm, years)))
    scaled = np.clip(
        np.exp(np.log(np.asarray(look.ratio_rgb)) * new / np.minimum(old, -1e-9)),
        _MIN_RATIO,
        1.0,
    )
    ratio: RGB = (float(scaled[0]), float(scaled[1]), float(scaled[2]))
    per_mm2 = float(load_table("plan", plan_override)["density"]["final_per_cm2"]) / 100.0
    ink = ink_per_dot_mm2(
        ratio, look.halo_mm, plan_override=plan_override, rendering_override=rendering_override
    )
    return replace(
        look,
        ratio_rgb=ratio,
        shade=chosen.id,
        full_density_drop_l=area_drop_l(skin, ratio, look.coverage * per_mm2 * ink),
    )


def _solve(drop: Any, target: float, lo: float, hi: float) -> float | None:
    """The x in [lo, hi] where the rising ``drop(x)`` meets ``target``; None if it never does."""
    if drop(hi) < target:
        return None
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if drop(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------------------------------
# Building the table


def build_ratio_table(
    itas: Sequence[float] | None = None, years: Sequence[float] | None = None
) -> dict[str, Any]:
    """Run the optical model for :func:`relative_density` over a grid of ITA and years.

    For the model skin of each ITA (:func:`pointillist.color.skin.skin_from_ita`), the
    recommended shade and depth and, at each year, the per-channel relative density.
    Slow (one recommendation per ITA); ``python -m pointillist.color.look`` writes the
    result to ``data/dot_ratios.toml``.
    """
    from pointillist.color.skin import skin_from_ita

    grid = load_table(_TABLE)["grid"] if itas is None or years is None else {}
    ita_values = [float(v) for v in (itas if itas is not None else grid["ita_deg"])]
    year_values = [float(v) for v in (years if years is not None else grid["years"])]
    shades, depths, rows = [], [], []
    for ita in ita_values:
        skin = skin_from_ita(ita).lab
        per_year = [_model_optics(skin, None, None, y) for y in year_values]
        shades.append(per_year[0].shade)
        depths.append(per_year[0].depth_mm)
        rows.append(
            [[round(v, 5) for v in (o.density, *(float(t) for t in o.tint))] for o in per_year]
        )
    return {
        "ita_deg": ita_values,
        "years": year_values,
        "shade": shades,
        "depth_mm": depths,
        "density_and_tint": rows,
    }


def _write_table(path: Path) -> None:
    grid = load_table(_TABLE)["grid"]
    table = build_ratio_table(grid["ita_deg"], grid["years"])
    lines = [
        "# Generated by `python -m pointillist.color.look` from the optical model",
        "# (pointillist.color.dot, data/optics.toml, data/fading.toml, data/pigments.toml):",
        "# do not edit by hand; regenerate after changing any of those files.",
        "# For the model skin of each ITA: the recommended shade and depth, and per year the",
        "# dot's density relative to the same shade shallow and freshly healed and its tint",
        "# (r, g, b): [density, tint_r, tint_g, tint_b] (pointillist.color.look.relative_optics).",
        "",
        "[grid]",
        f"ita_deg = {grid['ita_deg']}",
        f"years = {grid['years']}",
        "",
        f"ita_deg = {table['ita_deg']}",
        f"years = {table['years']}",
        "shade = [" + ", ".join(f'"{s}"' for s in table["shade"]) + "]",
        f"depth_mm = {table['depth_mm']}",
        "density_and_tint = [",
        *(f"    {row}," for row in table["density_and_tint"]),
        "]",
        "",
    ]
    # Top-level keys must come before the [grid] table in TOML.
    header, grid_block, body = lines[:7], lines[7:11], lines[11:]
    path.write_text("\n".join(header + body + grid_block) + "\n", encoding="utf-8")


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "data" / f"{_TABLE}.toml"
    _write_table(out)
    sys.stdout.write(f"{out}\n")
