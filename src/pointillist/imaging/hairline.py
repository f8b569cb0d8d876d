"""Hairline design: where the new front line goes and how density ramps behind it.

The design follows the rules hair-restoration surgeons use (REFERENCE.md section 3;
Shapiro & Shapiro 2013): the mid-frontal point sits ``height_cm`` above the glabella,
measured along the forehead; the frontotemporal points sit on the lines up from the
lateral canthi, receding behind the mid-frontal point by a depth that depends on the
shape (``rounded``, ``straight``, ``natural``); from each temple the line turns down
the side of the head. Lengths are walked on the ellipsoid head model, so the line sits
at the same place on the scalp whatever the photo's perspective on the forehead.

A natural hairline is not a curve: it wavers (macro irregularity), its edge is ragged
(micro irregularity), and density builds up over a transition band with single
impressions scattered ahead of it. :func:`hairline_density` turns the designed line into
that soft ramp. Every random choice comes from the seed. The figures live in
``data/hairline.toml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.imaging.head import HeadModel
from pointillist.imaging.landmarks import FaceKeypoints

HAIRLINE_SHAPES = ("rounded", "straight", "natural")
_FRONT_SAMPLES = 41
_SIDE_SAMPLES = 12


def hairline_table() -> dict[str, Any]:
    return load_table("hairline")


@dataclass(frozen=True)
class Hairline:
    """A hairline in photo pixels.

    Attributes
    ----------
    points
        ``(N, 2)`` xy polyline from the subject's right sideburn over the temples and the
        front to the left sideburn (image left to right on a frontal photo).
    behind
        Unit vector in the image pointing from the line towards the scalp it bounds.
    mid_frontal, temple_right, temple_left
        The design's key points (``None`` for a line given as points).
    """

    points: np.ndarray
    behind: tuple[float, float]
    shape: str
    height_cm: float | None
    transition_band_mm: float
    source: str
    mid_frontal: tuple[float, float] | None = None
    temple_right: tuple[float, float] | None = None
    temple_left: tuple[float, float] | None = None
    rise_share: float | None = None
    """How far up the visible head the mid-frontal point sits, from the glabella's level
    (0) to the top of the head's outline (1)."""

    def to_json(self) -> list[list[float]]:
        return [[round(float(x), 1), round(float(y), 1)] for x, y in self.points]

    def behind_mask(self, shape: tuple[int, int], cell_px: float) -> np.ndarray:
        """Boolean mask (on a grid of ``cell_px`` photo pixels) of the side behind the line.

        The line's ends are carried far out along the scalp direction, so the region is
        closed beyond the photo's edges.
        """
        import cv2

        h, w = shape
        pts = (self.points + 0.5) / cell_px - 0.5
        back = np.asarray(self.behind, dtype=np.float64)
        along = pts[-1] - pts[0]
        along = along / max(float(np.hypot(*along)), 1e-9)
        far = 4.0 * max(h, w)
        closing = np.array(
            [
                pts[-1] + along * far,
                pts[-1] + along * far + back * far,
                pts[0] - along * far + back * far,
                pts[0] - along * far,
            ]
        )
        poly = np.concatenate([pts, closing])
        mask = np.zeros((h, w), np.uint8)
        # fillPoly takes fixed-point coordinates: 4 fractional bits keep sub-cell detail.
        cv2.fillPoly(mask, [np.rint(poly * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
        return mask.astype(bool)


def check_design(shape: str, height_cm: float, transition_band_mm: float) -> None:
    """Refuse a hairline design outside what the data file allows."""
    table = hairline_table()["hairline"]
    if shape not in HAIRLINE_SHAPES:
        raise PointillistError(
            f"hairline shape {shape!r} is unknown; choose {', '.join(HAIRLINE_SHAPES)}"
        )
    lo, hi = float(table["min_height_cm"]), float(table["max_height_cm"])
    if not lo <= height_cm <= hi:
        raise PointillistError(
            f"--hairline-height-cm {height_cm:g} is outside {lo:g}-{hi:g} cm above the "
            "glabella; a natural mid-frontal point sits 7-10 cm above it"
        )
    if not 0.0 <= transition_band_mm <= 50.0:
        raise PointillistError(
            f"transition band {transition_band_mm:g} mm: give 0 to 50 mm (default 15)"
        )


def forehead_rise_fraction(surface_mm: np.ndarray | float) -> np.ndarray:
    """Share of the glabella-to-vertex rise, as seen from the front, at ``surface_mm``
    along the forehead from the glabella.

    The sagittal profile of the forehead and vertex is a circular arc that leaves the
    glabella leaning back by ``forehead_inclination_deg`` and turns level at the vertex
    (``data/hairline.toml`` [surface]); at eye level a photo shows its height, not its
    length. Beyond the vertex the point is out of sight: the share stays 1.
    """
    table = hairline_table()["surface"]
    theta0 = math.radians(float(table["forehead_inclination_deg"]))
    rise_mm = float(table["glabella_to_vertex_mm"])
    radius = rise_mm / (1.0 - math.sin(theta0))
    angle = np.minimum(theta0 + np.asarray(surface_mm, dtype=np.float64) / radius, math.pi / 2)
    return np.asarray((np.sin(angle) - math.sin(theta0)) / (1.0 - math.sin(theta0)))


def design_hairline(
    keypoints: FaceKeypoints,
    head: HeadModel,
    *,
    height_cm: float | None = None,
    shape: str | None = None,
    transition_band_mm: float | None = None,
    anchors: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None = None,
    seed: int = 0,
) -> Hairline:
    """Design a hairline from face landmarks on the fitted head.

    Every point of the front is placed by its length along the forehead: a column at
    ``x`` across the face rises from the glabella's level by
    :func:`forehead_rise_fraction` of that column's rise to the head's outline (the
    fitted head, whose vertex comes from the photo's silhouette when it is visible).
    The photo's own head thus sets the pixels and the scale cannot push the line onto
    the crown; a line the outline cannot hold is pulled inside it.

    Parameters
    ----------
    keypoints
        Face landmarks (glabella, lateral canthi, face sides).
    head
        The fitted head model: its outline bounds the rise of each column.
    height_cm
        Mid-frontal point above the glabella along the forehead (default 8 cm).
    shape
        ``"rounded"``, ``"straight"`` or ``"natural"`` (default from the data file).
    transition_band_mm
        Depth behind the line over which density ramps up to full (default 15 mm).
    anchors
        ``(mid_frontal, temple_right, temple_left)`` in pixels, moved by hand: the front
        runs through them with the shape's curve instead of the computed key points.
    seed
        Seed of the macro irregularity (waves along the line).
    """
    table = hairline_table()["hairline"]
    height_cm = float(table["default_height_cm"]) if height_cm is None else float(height_cm)
    shape = str(table["default_shape"]) if shape is None else shape
    band = float(table["transition_band_mm"]) if transition_band_mm is None else transition_band_mm
    check_design(shape, height_cm, band)
    frame = _FaceFrame(keypoints, head)
    offsets = [frame.across(c) for c in frame.canthi]
    if offsets[0] >= offsets[1]:
        raise PointillistError(
            "the landmarks put the right eye to the right of the left eye; check the "
            "landmarks file (x right, y down, subject's right eye on image left)"
        )
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4A1]))
    amp = float(table["macro_amplitude_mm"])
    lo_wave, hi_wave = (float(v) for v in table["macro_wavelength_mm"])
    waves = [
        (amp / math.sqrt(2.0), rng.uniform(lo_wave, hi_wave), rng.uniform(0, 2 * math.pi))
        for _ in range(2)
    ]
    u = np.linspace(-1.0, 1.0, _FRONT_SAMPLES)
    half_span_mm = (offsets[1] - offsets[0]) / 2.0 * head.mm_per_px
    wobble = sum(a * np.sin(2 * math.pi * u * half_span_mm / lam + ph) for a, lam, ph in waves)
    # The wave vanishes at the key points so they stay where the rules (or hands) put them.
    wobble = wobble * (1.0 - np.abs(u) ** 4) * (0.5 if shape == "straight" else 1.0)
    if anchors is None:
        x = (offsets[0] + offsets[1]) / 2.0 + u * (offsets[1] - offsets[0]) / 2.0
        recession = float(table["temple_recession_mm"][shape])
        tuft = float(table["central_tuft_mm"][shape])
        profile = recession * np.abs(u) ** (2.0 if shape == "rounded" else 1.6)
        profile -= tuft * np.exp(-((u / 0.22) ** 2))
        surface_mm = height_cm * 10.0 + profile + wobble
        rise = forehead_rise_fraction(surface_mm) * frame.rise_to_outline(x)
    else:
        mid, temple_r, temple_l = (np.asarray(p, dtype=np.float64) for p in anchors)
        xs = [frame.across(temple_r), frame.across(mid), frame.across(temple_l)]
        ys = [frame.up_from_glabella(p) for p in (temple_r, mid, temple_l)]
        if not xs[0] < xs[1] < xs[2]:
            raise PointillistError(
                "the hairline's key points are out of order: the mid-frontal point must lie "
                "between the two temple points"
            )
        x = np.where(u < 0, xs[1] + u * (xs[1] - xs[0]), xs[1] + u * (xs[2] - xs[1]))
        # A parabola through the three points, the design's waves on top.
        # The waves vanish at all three hand-placed points.
        rise = np.polyval(np.polyfit(xs, ys, 2), x)
        # Surface mm to pixels, foreshortened by about 0.7 where the forehead turns away.
        rise = rise + wobble * np.sin(math.pi * np.abs(u)) / head.mm_per_px * 0.7
    front_pts = frame.clip_inside(frame.point(x, rise))
    temple_r, temple_l = front_pts[0], front_pts[-1]
    mid = front_pts[_FRONT_SAMPLES // 2]
    sides = [
        frame.clip_inside(_temporal_line(head, temple_r, -frame.right, frame.up, frame.canthi[0])),
        frame.clip_inside(_temporal_line(head, temple_l, frame.right, frame.up, frame.canthi[1])),
    ]
    points = np.concatenate([sides[0][::-1], front_pts[1:-1], sides[1]])
    mid_share = frame.up_from_glabella(mid) / max(
        float(frame.rise_to_outline(frame.across(mid))[0]), 1e-6
    )
    return Hairline(
        points=points,
        behind=(float(frame.up[0]), float(frame.up[1])),
        shape=shape,
        height_cm=height_cm if anchors is None else None,
        transition_band_mm=band,
        source="designed" if anchors is None else "designed, moved by hand",
        mid_frontal=(float(mid[0]), float(mid[1])),
        temple_right=(float(temple_r[0]), float(temple_r[1])),
        temple_left=(float(temple_l[0]), float(temple_l[1])),
        rise_share=float(mid_share),
    )


class _FaceFrame:
    """Coordinates across the face and up from the glabella, and the head's outline."""

    def __init__(self, keypoints: FaceKeypoints, head: HeadModel) -> None:
        self.up = np.asarray(keypoints.up, dtype=np.float64)
        right = np.array([-self.up[1], self.up[0]])
        self.right = -right if right[0] < 0 else right
        self.glabella = np.asarray(keypoints.glabella, dtype=np.float64)
        self.canthi = [
            np.asarray(keypoints.lateral_canthus_right, dtype=np.float64),
            np.asarray(keypoints.lateral_canthus_left, dtype=np.float64),
        ]
        self.outline = head.outline

    def across(self, p: np.ndarray) -> float:
        return float(np.dot(np.asarray(p) - self.glabella, self.right))

    def up_from_glabella(self, p: np.ndarray) -> float:
        return float(np.dot(np.asarray(p) - self.glabella, self.up))

    def point(self, x: np.ndarray, rise: np.ndarray) -> np.ndarray:
        return np.asarray(
            self.glabella[None, :]
            + self.right[None, :] * x[:, None]
            + self.up[None, :] * rise[:, None]
        )

    def _to_outline(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points in the outline ellipse's normalised frame (radius 1 on the outline)."""
        (cx, cy), (a, b) = self.outline.center, self.outline.semi_axes
        th = math.radians(self.outline.angle_deg)
        dx, dy = pts[..., 0] - cx, pts[..., 1] - cy
        return (dx * math.cos(th) + dy * math.sin(th)) / a, (
            -dx * math.sin(th) + dy * math.cos(th)
        ) / b

    def rise_to_outline(self, x: np.ndarray | float) -> np.ndarray:
        """Rise (px, along ``up``) from the glabella's level to the outline: one per column
        (an array even for one column)."""
        xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
        # March up each column to the outline: the ellipse may be tilted with the face.
        base = self.glabella[None, :] + self.right[None, :] * xs[:, None]
        (a, b) = self.outline.semi_axes
        steps = np.linspace(0.0, 2.5 * max(a, b), 256)
        pts = base[:, None, :] + self.up[None, None, :] * steps[None, :, None]
        s, t = self._to_outline(pts)
        inside = s * s + t * t <= 1.0
        last = np.where(
            inside.any(axis=1), inside.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1), 0
        )
        rise = steps[last]
        return np.asarray(rise)

    def clip_inside(self, pts: np.ndarray, margin: float = 0.97) -> np.ndarray:
        """Pull points outside the head's outline back inside it, towards its centre."""
        s, t = self._to_outline(pts)
        r = np.sqrt(s * s + t * t)
        k = np.where(r > margin, margin / np.maximum(r, 1e-9), 1.0)
        c = np.asarray(self.outline.center, dtype=np.float64)
        return np.asarray(c[None, :] + (pts - c[None, :]) * k[:, None])


def _temporal_line(
    head: HeadModel,
    temple: np.ndarray,
    outward: np.ndarray,
    up: np.ndarray,
    canthus: np.ndarray,
) -> np.ndarray:
    """From a temple point down and out to the temporal peak above the sideburn.

    The temporal hairline runs about 2 cm out from the frontotemporal point and comes
    down to about 1.5 cm above the lateral canthus' level (assumption from hairline
    design practice), curving outward.
    """
    mm = head.mm_per_px
    level = float(np.dot(canthus, up)) + 15.0 / mm
    drop = float(np.dot(temple, up)) - level
    out_px = 20.0 / mm
    t = np.linspace(0.0, 1.0, _SIDE_SAMPLES)
    points = temple[None, :] + outward[None, :] * (out_px * np.sin(t * math.pi / 2))[:, None]
    points = points - up[None, :] * (max(drop, 0.0) * t**1.5)[:, None]
    return points


def hairline_from_points(
    points: np.ndarray,
    *,
    behind: tuple[float, float] = (0.0, -1.0),
    transition_band_mm: float | None = None,
) -> Hairline:
    """A hairline the practitioner drew: ``(N, 2)`` xy pixels, ``behind`` towards the scalp."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 2 or not np.isfinite(pts).all():
        raise PointillistError("a hairline needs at least two [x, y] points in pixels")
    band = (
        float(hairline_table()["hairline"]["transition_band_mm"])
        if transition_band_mm is None
        else float(transition_band_mm)
    )
    b = np.asarray(behind, dtype=np.float64)
    b = b / max(float(np.hypot(*b)), 1e-9)
    return Hairline(
        points=pts,
        behind=(float(b[0]), float(b[1])),
        shape="given",
        height_cm=None,
        transition_band_mm=band,
        source="given",
    )


def _smooth_noise(
    shape: tuple[int, int], sigma_cells: float, rng: np.random.Generator
) -> np.ndarray:
    """Smooth random field with unit standard deviation and correlation ``sigma_cells``."""
    import cv2

    field = rng.standard_normal(shape).astype(np.float32)
    field = np.asarray(cv2.GaussianBlur(field, (0, 0), max(sigma_cells, 0.5)), dtype=np.float32)
    std = float(field.std())
    return field / std if std > 0 else field


def grid_fields(
    head: HeadModel, shape: tuple[int, int], cell_px: float, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`hairline_density` reads that does not depend on the line: the head's
    metric on the work grid and the micro irregularity's random field (a preview editor
    moving the line keeps them)."""
    table = hairline_table()["hairline"]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4A2]))
    h, w = shape
    ys = (np.arange(h, dtype=np.float32) + 0.5) * cell_px - 0.5
    xs = (np.arange(w, dtype=np.float32) + 0.5) * cell_px - 0.5
    g = head.metric_at(xs[None, :], ys[:, None])
    corr_cells = float(table["micro_correlation_mm"]) / (head.mm_per_px * cell_px)
    noise = _smooth_noise(shape, corr_cells, rng)
    g.flags.writeable = False
    noise.flags.writeable = False
    return g, noise


def hairline_density(
    hairline: Hairline,
    head: HeadModel,
    shape: tuple[int, int],
    cell_px: float,
    *,
    seed: int = 0,
    fields: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Share of the final density (0-1) on the work grid, ramping up behind the line.

    Ahead of the line, a fringe of single impressions (``fringe_mm`` deep, at
    ``fringe_density``); behind it, a smooth rise to full density over the transition
    band. Distances are measured on the scalp (through the head's metric across the
    line) and roughened by a smooth random field (micro irregularity). ``fields`` are
    :func:`grid_fields` of the same head, grid and seed, if already made.
    """
    import cv2

    table = hairline_table()["hairline"]
    fringe_mm = float(table["fringe_mm"])
    fringe_density = float(table["fringe_density"])
    band_mm = hairline.transition_band_mm
    g, noise = grid_fields(head, shape, cell_px, seed=seed) if fields is None else fields
    behind = hairline.behind_mask(shape, cell_px)
    inside = cv2.distanceTransform(behind.astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform((~behind).astype(np.uint8), cv2.DIST_L2, 5)
    signed_cells = np.where(behind, inside - 0.5, -(outside - 0.5)).astype(np.float32)
    # Surface length of one cell step across the line, from the metric along the
    # distance's gradient (the direction across the line).
    gy, gx = np.gradient(signed_cells)
    norm = np.maximum(np.hypot(gx, gy), 1e-6)
    nx, ny = gx / norm, gy / norm
    across = np.sqrt(g[..., 0] * nx * nx + 2 * g[..., 1] * nx * ny + g[..., 2] * ny * ny)
    distance_mm = signed_cells * cell_px * across
    micro = float(table["micro_amplitude_mm"])
    distance_mm = distance_mm + micro * noise
    ramp = np.clip(distance_mm / max(band_mm, 1e-6), 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)
    inner = fringe_density + (1.0 - fringe_density) * ramp
    ahead = fringe_density * np.clip(1.0 + distance_mm / max(fringe_mm, 1e-6), 0.0, 1.0)
    return np.asarray(np.where(distance_mm >= 0, inner, ahead), dtype=np.float32)
