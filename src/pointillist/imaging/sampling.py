"""Variable-density blue-noise sampling of impressions on the scalp surface.

Where a practitioner places impressions is close to a Poisson-disk pattern: evenly
spread, never two on top of each other, yet not on a grid. :func:`sample_impressions`
draws such a pattern whose density follows a map (impressions per mm2 of *surface*)
and whose distances are measured on the surface through a per-pixel metric, so that on a
curved head the dots crowd in the image where the scalp turns away from the camera.

The minimum distance at density ``n`` (per mm2) is ``PACKING / sqrt(n)`` mm. Random
sequential (dart-throwing) packing of disks jams at a covered fraction of about 0.547
(Feder 1980; Hinrichsen, Feder & Jossang 1986), i.e. at ``0.697 / r**2`` points per unit
area for a minimum distance ``r``. ``PACKING = 0.75`` asks for ``0.5625 / r**2``, about
80 % of jamming: regular enough to read as evenly spread, loose enough that the target
count is reached after about ten candidates per point. :func:`sample_sessions` builds
the layers of a course (each session keeping the dots of the last) from one such
pattern.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pointillist.errors import PointillistError
from pointillist.imaging import kernels

PACKING = 0.75
"""Minimum distance times the square root of the density (dimensionless)."""

SESSION_PACKING = 0.65
"""The same ratio for the earlier sessions of :func:`sample_sessions`, which are picked
from the final pattern's points: picking from a finite set packs less tightly than
free dart throwing; with 0.65 the picking can reach 112-125 % of each session's count
on a uniform map (measured for the 30/55/80 % sessions), while 0.75 falls 7-17 % short."""

DENSITY_FLOOR_FRACTION = 1.0 / 16.0
"""Below this share of the map's peak density the minimum distance stops growing (4x)."""

_CANDIDATES_PER_POINT = 16

MAX_IMPRESSIONS = 2_000_000
"""Refuse maps asking for more: a whole scalp (about 500-800 cm2) at 100 per cm2 is
under 80,000; millions mean a density or scale off by orders of magnitude."""


def minimum_distance_mm(
    density_per_mm2: ArrayLike, *, peak_density_per_mm2: float | None = None
) -> NDArray[np.float64]:
    """Minimum surface distance in mm between impressions at a given density.

    Parameters
    ----------
    density_per_mm2
        Target impressions per mm2 of surface (scalar or array).
    peak_density_per_mm2
        The map's peak density; densities under :data:`DENSITY_FLOOR_FRACTION` of it
        use the floor (so feathered edges do not demand huge spacings). Defaults to the
        maximum of ``density_per_mm2``.
    """
    n = np.asarray(density_per_mm2, dtype=np.float64)
    peak = float(n.max()) if peak_density_per_mm2 is None else float(peak_density_per_mm2)
    floor = peak * DENSITY_FLOOR_FRACTION
    with np.errstate(divide="ignore"):
        return np.asarray(PACKING / np.sqrt(np.maximum(n, floor)), dtype=np.float64)


def metric_field(
    metric_mm2_per_px2: float | NDArray[np.floating], shape: tuple[int, int]
) -> NDArray[np.float32]:
    """Normalise a metric argument to a ``(Hm, Wm, 3)`` float32 array of (g11, g12, g22).

    A scalar ``s`` (``mm_per_px**2`` of a flat photo) becomes the isotropic metric
    ``(s, 0, s)`` as a ``(1, 1, 3)`` array (which is also accepted as is); a field must
    have shape ``shape + (3,)`` and be positive definite wherever it is used.
    """
    if np.ndim(metric_mm2_per_px2) == 0:
        s = float(metric_mm2_per_px2)
        if not (s > 0.0 and math.isfinite(s)):
            raise PointillistError(
                f"metric_mm2_per_px2 = {s}: give mm_per_px**2, a positive number"
            )
        return np.array([[[s, 0.0, s]]], dtype=np.float32)
    field = np.ascontiguousarray(metric_mm2_per_px2, dtype=np.float32)
    if field.shape != (*shape, 3) and field.shape != (1, 1, 3):
        raise PointillistError(
            f"metric field of shape {field.shape}: expected {(*shape, 3)} "
            "(g11, g12, g22 per pixel of the density map)"
        )
    return field


def _check_density(density_per_mm2: NDArray[np.floating]) -> NDArray[np.float32]:
    density = np.ascontiguousarray(density_per_mm2, dtype=np.float32)
    if density.ndim != 2 or density.size == 0:
        raise PointillistError(
            f"density map of shape {density.shape}: expected a non-empty (H, W) array"
        )
    if not np.isfinite(density).all() or (density < 0).any():
        raise PointillistError("density map: values must be finite and >= 0 (per mm2)")
    return density


def _check_existing(existing: ArrayLike | None) -> NDArray[np.float64]:
    if existing is None:
        return np.empty((0, 2), np.float64)
    points = np.ascontiguousarray(existing, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise PointillistError(f"existing points of shape {points.shape}: expected (N, 2) xy")
    return points


@dataclass(frozen=True)
class _Survey:
    """What one pass over a density map tells the sampler (at ``density_scale = 1``)."""

    density: NDArray[np.float32]
    metric: NDArray[np.float32]
    expected: float
    peak: float
    min_radius_px: float
    tile_max: NDArray[np.float64]
    tile_density: NDArray[np.float64]


def _survey(
    density_per_mm2: NDArray[np.floating], metric_mm2_per_px2: float | NDArray[np.floating]
) -> _Survey:
    density = _check_density(density_per_mm2)
    metric = metric_field(metric_mm2_per_px2, density.shape)
    peak = float(density.max())
    expected, _area, min_radius_px, tile_max, tile_density = kernels.surface_measure(
        density, metric, PACKING, peak * DENSITY_FLOOR_FRACTION
    )
    if peak > 0 and not (math.isfinite(min_radius_px) and math.isfinite(expected)):
        raise PointillistError(
            "metric field: must be finite and positive definite (g11 g22 > g12^2, g11 > 0) "
            "wherever the density is positive"
        )
    return _Survey(
        density, metric, float(expected), peak, float(min_radius_px), tile_max, tile_density
    )


def _count_inside(survey: _Survey, points: NDArray[np.float64]) -> int:
    if not len(points):
        return 0
    rows, cols = survey.density.shape
    col = np.clip(points[:, 0].astype(np.int64), 0, cols - 1)
    row = np.clip(points[:, 1].astype(np.int64), 0, rows - 1)
    inside = (
        (points[:, 0] >= 0)
        & (points[:, 0] < cols)
        & (points[:, 1] >= 0)
        & (points[:, 1] < rows)
        & (survey.density[row, col] > 0)
    )
    return int(inside.sum())


def _sample(
    survey: _Survey, points: NDArray[np.float64], scale: float, seed: int
) -> NDArray[np.float64]:
    """``points`` followed by new ones, for the target density ``scale * map``."""
    if survey.peak <= 0.0 or scale <= 0.0:
        return points.copy()
    target = round(survey.expected * scale)
    if target > MAX_IMPRESSIONS:
        raise PointillistError(
            f"the density map asks for {target:,} impressions (over {MAX_IMPRESSIONS:,}): "
            "check its units (per mm2 of scalp) and the scale in mm per pixel"
        )
    wanted = max(target - _count_inside(survey, points), 0)
    if wanted == 0:
        return points.copy()
    new = kernels.blue_noise(
        survey.density,
        survey.metric,
        points,
        wanted,
        _CANDIDATES_PER_POINT * (target + 100),
        PACKING,
        survey.peak * scale * DENSITY_FLOOR_FRACTION,
        # the smallest distance in pixels shrinks as the density grows
        max(survey.min_radius_px / math.sqrt(scale), 1.0),
        survey.tile_max,
        survey.tile_density,
        scale,
        int(np.random.SeedSequence(seed).generate_state(1)[0]),
    )
    return np.concatenate([points, new])


def expected_count(
    density_per_mm2: NDArray[np.floating], *, metric_mm2_per_px2: float | NDArray[np.floating]
) -> float:
    """Number of impressions the density map asks for: its integral over the surface."""
    return _survey(density_per_mm2, metric_mm2_per_px2).expected


def sample_impressions(
    density_per_mm2: NDArray[np.floating],
    *,
    metric_mm2_per_px2: float | NDArray[np.floating],
    existing: ArrayLike | None = None,
    seed: int,
) -> NDArray[np.float64]:
    """Blue-noise impression positions whose surface density follows a map.

    Parameters
    ----------
    density_per_mm2
        ``(H, W)`` target impressions per mm2 of scalp surface: 0 outside the treatment
        area, lower on feathered edges. It is the *total* target, earlier sessions'
        impressions included.
    metric_mm2_per_px2
        Either a scalar, ``mm_per_px**2`` for a flat photo, or an ``(H, W, 3)`` field of
        ``(g11, g12, g22)``: a pixel step ``d`` has surface length ``sqrt(d^T G d)`` mm.
    existing
        ``(M, 2)`` xy positions already on the scalp (earlier sessions). They are kept,
        count towards the target, and new points keep their distance from them.
    seed
        Seed of the pattern; the same inputs and seed give the same points.

    Returns
    -------
    numpy.ndarray
        ``(M + K, 2)`` float64 xy in pixels (x right, y down; pixel ``(r, c)`` spans
        ``[c, c+1) x [r, r+1)``): the ``existing`` points first, unchanged, then ``K``
        new ones.

    Notes
    -----
    Each new point is at least :func:`minimum_distance_mm` (at its own pixel's density,
    measured with its own pixel's metric) from every other point placed before it, so
    any two points are at least the smaller of their two minimum distances apart. The
    number of new points is the map's surface integral (:func:`expected_count`) minus
    the existing points standing where the density is positive; they are drawn in
    random order over the whole map, so the local density follows the map (within
    about 5 % over uniform regions, a little above it along boundaries where dots have
    fewer neighbours). If earlier points are so dense that the map cannot take more
    (no room after sixteen candidates per point), fewer are returned.
    """
    survey = _survey(density_per_mm2, metric_mm2_per_px2)
    return _sample(survey, _check_existing(existing), 1.0, seed)


def sample_sessions(
    density_per_mm2: NDArray[np.floating],
    *,
    metric_mm2_per_px2: float | NDArray[np.floating],
    cumulative_fractions: Sequence[float],
    seed: int,
) -> tuple[NDArray[np.float64], NDArray[np.int16]]:
    """Impression positions built in layers, one per session, each keeping the last.

    Session ``k`` keeps every point of sessions ``1..k-1`` and adds points between them
    until the density reaches ``cumulative_fractions[k-1] * density_per_mm2``. The full
    pattern (the last fraction) is drawn first, as :func:`sample_impressions` would;
    then the sessions are peeled from it, sparsest first: session 1 takes points of the
    pattern, in random order, that keep ``SESSION_PACKING / sqrt(f1 * density)`` mm from
    those already taken (``f1 = cumulative_fractions[0]``), until it has its share; then
    session 2 at its own density, and so on; the last session takes the rest. So each
    cumulative session is itself an even pattern at its own density, and one
    dart-throwing pass serves every session.

    Returns
    -------
    points, session
        ``(N, 2)`` float64 xy in pixels, session 1's points first, and the ``(N,)`` int16
        session number (1-based) of each.
    """
    fractions = np.asarray(cumulative_fractions, dtype=np.float64)
    survey = _survey(density_per_mm2, metric_mm2_per_px2)
    full = _sample(survey, np.empty((0, 2), np.float64), float(fractions[-1]), seed)
    if len(fractions) == 1 or len(full) == 0:
        return full, np.ones(len(full), np.int16)
    targets = np.array([round(survey.expected * f) for f in fractions], dtype=np.int64)
    session = kernels.assign_layers(
        full,
        survey.density,
        survey.metric,
        fractions,
        targets,
        SESSION_PACKING,
        survey.peak * DENSITY_FLOOR_FRACTION,
        max(survey.min_radius_px / math.sqrt(float(fractions[-1])), 1.0),
    )
    order = np.argsort(session, kind="stable")
    return np.ascontiguousarray(full[order]), session[order]
