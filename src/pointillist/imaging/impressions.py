"""Impressions of a treatment course: where each dot goes, in which session, and its look.

SMP builds density in layers: each session keeps every impression of the previous ones
and lands new ones between them, up to the cumulative share of the final density given
in ``data/plan.toml`` (``[density] cumulative_fraction``). :func:`plan_impressions`
samples those layers with :func:`pointillist.imaging.sampling.sample_sessions` and
gives every impression its healed diameter (``[impression]`` in ``plan.toml``), its
shade, opacity and slight elongation (``[dot]`` in ``data/rendering.toml``), and its
outline in the image: a circle on the scalp seen through the surface metric is the
ellipse ``x^T G x <= (d/2)**2`` in pixels.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pointillist.data import load_table
from pointillist.errors import PointillistError


@dataclass(frozen=True, eq=False)
class Impressions:
    """Every impression of a course, in placement order (session 1 first).

    Attributes
    ----------
    xy
        ``(N, 2)`` float64 centres in pixels (x right, y down).
    session
        ``(N,)`` int16 session number (1-based) in which each impression is placed;
        non-decreasing.
    diameter_mm
        ``(N,)`` float32 healed diameter on the scalp surface, mm.
    semi_axes_px
        ``(N, 2)`` float32 semi-major and semi-minor axes of the dot's outline in the
        image, pixels.
    angle_rad
        ``(N,)`` float32 direction of the major axis from +x towards +y (image axes).
    shade
        ``(N,)`` float32 exponent applied to the pigment's reflectance ratio
        (1 nominal, above 1 darker).
    opacity
        ``(N,)`` float32 share of the outline that carries pigment, in (0, 1].
    n_sessions
        Number of sessions of the course (some may add no impression).
    """

    xy: NDArray[np.float64]
    session: NDArray[np.int16]
    diameter_mm: NDArray[np.float32]
    semi_axes_px: NDArray[np.float32]
    angle_rad: NDArray[np.float32]
    shade: NDArray[np.float32]
    opacity: NDArray[np.float32]
    n_sessions: int

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def up_to_session(self, k: int) -> Impressions:
        """The impressions on the scalp after session ``k`` (1..n_sessions), cumulative."""
        if not 1 <= k <= self.n_sessions:
            raise PointillistError(f"session {k}: choose a session from 1 to {self.n_sessions}")
        n = int(np.searchsorted(self.session, k, side="right"))
        return Impressions(
            xy=self.xy[:n],
            session=self.session[:n],
            diameter_mm=self.diameter_mm[:n],
            semi_axes_px=self.semi_axes_px[:n],
            angle_rad=self.angle_rad[:n],
            shade=self.shade[:n],
            opacity=self.opacity[:n],
            n_sessions=k,
        )

    def cumulative_counts(self) -> list[int]:
        """Impressions on the scalp after each session, ``[after 1, after 2, ...]``."""
        ends = np.searchsorted(self.session, np.arange(1, self.n_sessions + 1), side="right")
        return [int(v) for v in ends]


def cumulative_fractions_for(
    sessions: int, *, plan: Mapping[str, Any] | None = None
) -> list[float]:
    """Cumulative share of the final density after each session, from ``plan.toml``."""
    table = load_table("plan") if plan is None else plan
    curves: Mapping[str, list[float]] = table["density"]["cumulative_fraction"]
    if str(sessions) not in curves:
        known = ", ".join(sorted(curves))
        raise PointillistError(f"{sessions} sessions: no density curve for it; choose {known}")
    return [float(f) for f in curves[str(sessions)]]


def _check_fractions(fractions: Sequence[float]) -> list[float]:
    values = [float(f) for f in fractions]
    if not values:
        raise PointillistError("cumulative_fractions: give at least one session")
    ok = all(0.0 < f <= 1.0 for f in values) and all(b >= a for a, b in itertools.pairwise(values))
    if not ok:
        raise PointillistError(
            f"cumulative_fractions {values}: must rise (or stay) from above 0 up to at most 1"
        )
    return values


def dot_ellipses(
    xy: NDArray[np.float64],
    diameter_mm: NDArray[np.floating],
    metric: NDArray[np.float32],
    *,
    elongation: NDArray[np.floating] | None = None,
    elongation_angle_rad: NDArray[np.floating] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Image-space outline of dots that are circles (or ellipses) on the scalp surface.

    Parameters
    ----------
    xy
        ``(N, 2)`` centres in pixels.
    diameter_mm
        ``(N,)`` surface diameters in mm.
    metric
        ``(Hm, Wm, 3)`` metric field (see :func:`~pointillist.imaging.sampling.metric_field`);
        read at each centre's pixel.
    elongation, elongation_angle_rad
        Optional area-keeping stretch of each dot on the surface: semi-axes
        ``r * e`` and ``r / e`` with the long one at the given angle in the surface's
        local frame.

    Returns
    -------
    semi_axes_px, angle_rad
        ``(N, 2)`` semi-major and semi-minor axes in pixels and ``(N,)`` major-axis
        directions. For a circle of radius ``r`` mm this is the ellipse
        ``x^T G x <= r**2``.
    """
    n = xy.shape[0]
    if metric.shape[0] == 1:
        g = np.broadcast_to(metric[0, 0].astype(np.float64), (n, 3))
    else:
        rows, cols = metric.shape[:2]
        col = np.clip(xy[:, 0].astype(np.int64), 0, cols - 1)
        row = np.clip(xy[:, 1].astype(np.int64), 0, rows - 1)
        g = metric[row, col].astype(np.float64)
    g11, g12, g22 = g[:, 0], g[:, 1], g[:, 2]
    radius = 0.5 * np.asarray(diameter_mm, dtype=np.float64)
    e = np.ones(n) if elongation is None else np.asarray(elongation, dtype=np.float64)
    phi = np.zeros(n) if elongation_angle_rad is None else np.asarray(elongation_angle_rad)
    # Surface conic S of the (possibly elongated) dot: u^T S u <= 1.
    inv_long2 = 1.0 / (radius * e) ** 2
    inv_short2 = 1.0 / (radius / e) ** 2
    cp, sp = np.cos(phi), np.sin(phi)
    s11 = cp * cp * inv_long2 + sp * sp * inv_short2
    s22 = sp * sp * inv_long2 + cp * cp * inv_short2
    s12 = cp * sp * (inv_long2 - inv_short2)
    # Pixel conic Q = G^(1/2) S G^(1/2), with the closed-form square root of a 2x2 SPD.
    root_det = np.sqrt(np.maximum(g11 * g22 - g12 * g12, 0.0))
    norm = np.sqrt(g11 + g22 + 2.0 * root_det)
    h11, h12, h22 = (g11 + root_det) / norm, g12 / norm, (g22 + root_det) / norm
    t11 = h11 * s11 + h12 * s12
    t12 = h11 * s12 + h12 * s22
    t21 = h12 * s11 + h22 * s12
    t22 = h12 * s12 + h22 * s22
    q11 = t11 * h11 + t12 * h12
    q12 = t11 * h12 + t12 * h22
    q22 = t21 * h12 + t22 * h22
    half_trace = 0.5 * (q11 + q22)
    spread = np.sqrt((0.5 * (q11 - q22)) ** 2 + q12 * q12)
    semi_major = 1.0 / np.sqrt(half_trace - spread)
    semi_minor = 1.0 / np.sqrt(half_trace + spread)
    angle = 0.5 * np.arctan2(2.0 * q12, q11 - q22) + 0.5 * math.pi
    angle = np.mod(angle + 0.5 * math.pi, math.pi) - 0.5 * math.pi
    axes = np.stack([semi_major, semi_minor], axis=1).astype(np.float32)
    return axes, angle.astype(np.float32)


def plan_impressions(
    density_per_mm2: NDArray[np.floating],
    *,
    metric_mm2_per_px2: float | NDArray[np.floating],
    seed: int,
    cumulative_fractions: Sequence[float] | None = None,
    sessions: int | None = None,
    plan_override: str | Path | None = None,
    rendering_override: str | Path | None = None,
) -> Impressions:
    """Sample every impression of a course, session by session, cumulatively.

    Parameters
    ----------
    density_per_mm2
        ``(H, W)`` *final* impressions per mm2 of scalp surface (0 outside the
        treatment area). ``plan.toml``'s ``[density] final_per_cm2`` / 100 is the usual
        peak value.
    metric_mm2_per_px2
        ``mm_per_px**2`` or an ``(H, W, 3)`` surface metric field (see
        :func:`~pointillist.imaging.sampling.sample_impressions`).
    seed
        Seed of the whole course; the same inputs and seed give identical impressions.
    cumulative_fractions
        Share of the final density reached after each session, rising to at most 1.
        Defaults to ``plan.toml``'s curve for ``sessions`` sessions.
    sessions
        Number of sessions when ``cumulative_fractions`` is not given (default:
        ``plan.toml`` ``[sessions] default_count``).
    plan_override, rendering_override
        A clinic's own ``plan.toml`` / ``rendering.toml``.

    Returns
    -------
    Impressions
        Session ``k`` consists of every impression of session ``k - 1`` plus new ones
        placed between them so that the density reaches ``fraction[k] * density``;
        each cumulative session is an even pattern at its own density.
    """
    plan = load_table("plan", plan_override)
    look = load_table("rendering", rendering_override)["dot"]
    if cumulative_fractions is None:
        count = int(plan["sessions"]["default_count"]) if sessions is None else sessions
        fractions = cumulative_fractions_for(count, plan=plan)
    else:
        fractions = _check_fractions(cumulative_fractions)
        if sessions is not None and sessions != len(fractions):
            raise PointillistError(
                f"sessions={sessions} but {len(fractions)} cumulative fractions: "
                "give one per session"
            )
    # Imported here: the sampler loads numba, and the rest of this module (the
    # impressions' type, the session fractions an option check needs) must not wait
    # for it while the kernels load on their own thread.
    from pointillist.imaging.sampling import metric_field, sample_sessions

    density = np.asarray(density_per_mm2, dtype=np.float32)
    metric = metric_field(metric_mm2_per_px2, density.shape[:2])
    layout_seed, look_seed = np.random.SeedSequence(seed).generate_state(2)
    points, session = sample_sessions(
        density,
        metric_mm2_per_px2=metric,
        cumulative_fractions=fractions,
        seed=int(layout_seed),
    )
    n = len(points)

    spec = plan["impression"]
    rng = np.random.default_rng(int(look_seed))
    diameter = np.clip(
        rng.normal(spec["diameter_mm"], spec["diameter_jitter_mm"], n),
        spec["min_diameter_mm"],
        spec["max_diameter_mm"],
    )
    shade = np.clip(rng.normal(1.0, look["shade_jitter"], n), look["min_shade"], look["max_shade"])
    opacity = np.clip(
        rng.normal(look["opacity"], look["opacity_jitter"], n),
        look["min_opacity"],
        look["max_opacity"],
    )
    elongation = float(look["max_elongation"]) ** rng.random(n)
    elongation_angle = rng.uniform(0.0, math.pi, n)
    axes, angle = dot_ellipses(
        points, diameter, metric, elongation=elongation, elongation_angle_rad=elongation_angle
    )
    return Impressions(
        xy=points,
        session=session,
        diameter_mm=diameter.astype(np.float32),
        semi_axes_px=axes,
        angle_rad=angle,
        shade=shade.astype(np.float32),
        opacity=opacity.astype(np.float32),
        n_sessions=len(fractions),
    )
