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
80 % of jamming: regular enough to read as even, loose enough that the target count is
always reached and that later sessions can still land between earlier dots.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pointillist.errors import PointillistError
from pointillist.imaging import _kernels

PACKING = 0.75
"""Minimum distance times the square root of the density (dimensionless)."""

DENSITY_FLOOR_FRACTION = 1.0 / 16.0
"""Below this share of the map's peak density the minimum distance stops growing (4x)."""

_CANDIDATES_PER_POINT = 4.0
_MAX_ROUNDS = 6


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
    ``(s, 0, s)`` as a ``(1, 1, 3)`` array; a field must have shape ``shape + (3,)`` and
    be positive definite wherever it is used.
    """
    if np.ndim(metric_mm2_per_px2) == 0:
        s = float(metric_mm2_per_px2)
        if not (s > 0.0 and math.isfinite(s)):
            raise PointillistError(
                f"metric_mm2_per_px2 = {s}: give mm_per_px**2, a positive number"
            )
        return np.array([[[s, 0.0, s]]], dtype=np.float32)
    field = np.ascontiguousarray(metric_mm2_per_px2, dtype=np.float32)
    if field.shape != (*shape, 3):
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


def expected_count(
    density_per_mm2: NDArray[np.floating], *, metric_mm2_per_px2: float | NDArray[np.floating]
) -> float:
    """Number of impressions the density map asks for: its integral over the surface."""
    density = _check_density(density_per_mm2)
    metric = metric_field(metric_mm2_per_px2, density.shape)
    expected, _area, _radius = _kernels.surface_measure(density, metric, PACKING, 0.0)
    return float(expected)


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
    fewer neighbours). If earlier points are so dense that the map cannot take more,
    fewer are returned.
    """
    density = _check_density(density_per_mm2)
    metric = metric_field(metric_mm2_per_px2, density.shape)
    points = _check_existing(existing)
    peak = float(density.max())
    if peak <= 0.0:
        return points.copy()
    floor = peak * DENSITY_FLOOR_FRACTION
    expected, _area, min_radius_px = _kernels.surface_measure(density, metric, PACKING, floor)
    if not math.isfinite(min_radius_px):
        raise PointillistError("metric field: must be positive definite inside the density map")
    rows, cols = density.shape
    if len(points):
        col = np.clip(points[:, 0].astype(np.int64), 0, cols - 1)
        row = np.clip(points[:, 1].astype(np.int64), 0, rows - 1)
        inside = (
            (points[:, 0] >= 0)
            & (points[:, 0] < cols)
            & (points[:, 1] >= 0)
            & (points[:, 1] < rows)
            & (density[row, col] > 0)
        )
        already = int(inside.sum())
    else:
        already = 0
    wanted = max(round(expected) - already, 0)
    cell_px = max(min_radius_px, 1.0)
    seeds = np.random.SeedSequence(seed).generate_state(_MAX_ROUNDS)
    placed = points
    for round_seed in seeds:
        if wanted <= 0:
            break
        new = _kernels.blue_noise(
            density,
            metric,
            placed,
            wanted,
            _CANDIDATES_PER_POINT * max(float(expected), 1.0),
            PACKING,
            floor,
            cell_px,
            int(round_seed),
        )
        if len(new) == 0:
            break
        placed = np.concatenate([placed, new])
        wanted -= len(new)
    return np.ascontiguousarray(placed)
