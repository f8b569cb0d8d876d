"""The head as an ellipsoid: surface metric, areas on the scalp, lengths along it.

A photo flattens the head. Near the outline the scalp turns away from the camera, so one
pixel covers more and more scalp: dots there must crowd and flatten into ellipses, and
an area counted in pixels is too small. We model the scalp as an ellipsoid seen in
orthographic projection (a head photo is taken from a metre or more away), fitted to the
face landmarks (frontal views) or to the head's outline (top and back views).

In the image, the ellipsoid's outline is an ellipse with centre ``c``, semi-axes
``a, b`` and angle ``theta``; its third semi-axis ``D`` points at the camera. With
``(s, t)`` the pixel's coordinates in units of the semi-axes, the visible surface is
``z = D * sqrt(1 - s^2 - t^2)`` and a pixel step ``dx`` covers the surface length
``sqrt(dx^T G dx)`` with the metric tensor

    G = mm_per_px^2 * (I + grad(z) grad(z)^T)

whose components ``(g11, g12, g22)`` the sampler uses. ``sqrt(det G)`` is the scalp area
of one pixel in mm^2. The stretch is capped at ``max_stretch`` (``data/head.toml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.imaging.landmarks import FaceKeypoints


def _table() -> dict[str, Any]:
    return load_table("head")


@dataclass(frozen=True)
class Ellipse:
    """An ellipse in the image: centre (x, y), semi-axes (a, b) in px, angle of ``a``."""

    center: tuple[float, float]
    semi_axes: tuple[float, float]
    angle_deg: float

    @property
    def width_px(self) -> float:
        """The smaller full axis: the head's breadth in a top or back view."""
        return 2.0 * min(self.semi_axes)


@dataclass(frozen=True)
class HeadModel:
    """An ellipsoid head in orthographic projection.

    Attributes
    ----------
    outline
        The ellipsoid's outline in the image.
    depth_px
        Semi-axis along the view direction, in pixels.
    mm_per_px
        Scale of the photo.
    view
        ``"frontal"`` (fitted to landmarks) or ``"silhouette"`` (top or back views).
    source
        What the fit rests on, e.g. ``"landmarks"`` or ``"landmarks+silhouette"``.
    max_stretch
        Cap on the surface stretch near the outline.
    """

    outline: Ellipse
    depth_px: float
    mm_per_px: float
    view: str
    source: str
    max_stretch: float

    # -- geometry -----------------------------------------------------------------------

    def _gradient(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Depth gradient ``(dz/dx, dz/dy)`` (dimensionless) at image points."""
        (cx, cy), (a, b) = self.outline.center, self.outline.semi_axes
        th = math.radians(self.outline.angle_deg)
        cos, sin = math.cos(th), math.sin(th)
        dx = np.asarray(x, dtype=np.float32) - np.float32(cx)
        dy = np.asarray(y, dtype=np.float32) - np.float32(cy)
        s = (dx * cos + dy * sin) / np.float32(a)
        t = (-dx * sin + dy * cos) / np.float32(b)
        q_min = 1.0 / self.max_stretch
        r2 = s * s + t * t
        limit = np.float32(1.0 - q_min * q_min)
        shrink = np.sqrt(np.minimum(np.float32(1.0), limit / np.maximum(r2, np.float32(1e-12))))
        s = s * shrink
        t = t * shrink
        q = np.sqrt(np.maximum(np.float32(1.0) - s * s - t * t, np.float32(q_min * q_min)))
        d = np.float32(self.depth_px)
        zu = -d * s / (np.float32(a) * q)
        zv = -d * t / (np.float32(b) * q)
        gx = zu * np.float32(cos) - zv * np.float32(sin)
        gy = zu * np.float32(sin) + zv * np.float32(cos)
        return gx, gy

    def metric_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Metric components ``(..., 3)`` = ``(g11, g12, g22)`` in mm^2 per px^2."""
        gx, gy = self._gradient(x, y)
        m2 = np.float32(self.mm_per_px**2)
        return np.stack([m2 * (1.0 + gx * gx), m2 * gx * gy, m2 * (1.0 + gy * gy)], axis=-1).astype(
            np.float32
        )

    def metric_field(
        self, height: int, width: int, *, cell_px: float = 1.0, step: int = 4
    ) -> np.ndarray:
        """``(H, W, 3)`` float32 metric of every cell of a grid, for the sampler.

        The grid's cells are ``cell_px`` photo pixels wide (1 for the photo itself) and
        the metric is per cell: mm^2 per cell^2. The field is smooth, so it is evaluated
        every ``step`` cells and interpolated.
        """
        import cv2

        step = max(1, min(step, height, width))
        hs, ws = -(-height // step), -(-width // step)
        ys = ((np.arange(hs, dtype=np.float32) + 0.5) * step - 0.5 + 0.5) * cell_px - 0.5
        xs = ((np.arange(ws, dtype=np.float32) + 0.5) * step - 0.5 + 0.5) * cell_px - 0.5
        coarse = self.metric_at(xs[None, :], ys[:, None]) * np.float32(cell_px**2)
        if step == 1:
            return np.ascontiguousarray(coarse)
        return np.ascontiguousarray(
            cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
        )

    def area_per_px_mm2(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Scalp area covered by one pixel, ``sqrt(det G)``, in mm^2."""
        gx, gy = self._gradient(x, y)
        return np.asarray(
            np.float32(self.mm_per_px**2) * np.sqrt(1.0 + gx * gx + gy * gy), dtype=np.float32
        )

    def surface_area_mm2(self, weights: np.ndarray, *, pixel_size: float = 1.0) -> float:
        """Scalp area in mm^2 of a mask or soft weights given on a grid.

        ``weights`` is ``(h, w)`` on a grid whose cells are ``pixel_size`` photo pixels
        wide (a reduced-resolution mask), cell centres aligned with the photo.
        """
        h, w = weights.shape
        ys = (np.arange(h, dtype=np.float32) + 0.5) * pixel_size - 0.5
        xs = (np.arange(w, dtype=np.float32) + 0.5) * pixel_size - 0.5
        per_px = self.area_per_px_mm2(xs[None, :], ys[:, None])
        return float(np.sum(per_px * weights, dtype=np.float64) * pixel_size**2)

    def to_json(self) -> dict[str, Any]:
        mm = self.mm_per_px
        return {
            "view": self.view,
            "source": self.source,
            "center_px": [round(v, 1) for v in self.outline.center],
            "semi_axes_mm": [
                round(self.outline.semi_axes[0] * mm, 1),
                round(self.outline.semi_axes[1] * mm, 1),
                round(self.depth_px * mm, 1),
            ],
            "angle_deg": round(self.outline.angle_deg, 1),
        }


def fit_frontal(
    keypoints: FaceKeypoints,
    mm_per_px: float,
    silhouette: np.ndarray | None = None,
    *,
    cell_px: float = 1.0,
) -> HeadModel:
    """Fit the ellipsoid to a frontal face, refined by the head's outline when given.

    The outline's centre sits on the line between the lateral canthi, its horizontal
    semi-axis is half the head breadth (face width over the face-to-head ratio), its
    vertical semi-axis reaches the vertex, and the depth is half the head length
    (``data/head.toml``). ``silhouette`` is a boolean head mask on a grid of cells
    ``cell_px`` photo pixels wide; where it agrees with the landmarks (within 30 %), it
    sets the vertex and the breadth.
    """
    table = _table()["ellipsoid"]
    right = np.subtract(keypoints.face_side_left, keypoints.face_side_right)
    if np.hypot(*right) < 1.0:
        raise PointillistError("the face landmarks are degenerate (zero face width)")
    angle = math.degrees(math.atan2(right[1], right[0]))
    mid = np.add(keypoints.lateral_canthus_left, keypoints.lateral_canthus_right) / 2.0
    a = keypoints.face_width_px / float(table["face_to_head_breadth"]) / 2.0
    b = float(table["vertex_above_canthus_mm"]) / mm_per_px
    source = "landmarks"
    if silhouette is not None and silhouette.any():
        up = keypoints.up
        b_sil = _extent(silhouette, cell_px, mid, up)
        if b_sil is not None and 0.7 * b <= b_sil <= 1.4 * b:
            b = b_sil
            source = "landmarks+silhouette"
        # Half-width 30 % of the way up, where the cranium is widest above the ears.
        level = mid + up * 0.3 * b
        side = np.array([-up[1], up[0]])
        widths = [_extent(silhouette, cell_px, level, d) for d in (side, -side)]
        if all(w is not None for w in widths):
            a_sil = (float(widths[0]) + float(widths[1])) / 2.0 / math.sqrt(1 - 0.09)  # type: ignore[arg-type]
            if 0.8 * a <= a_sil <= 1.35 * a:
                a = a_sil
                source = "landmarks+silhouette"
    return HeadModel(
        outline=Ellipse(center=(float(mid[0]), float(mid[1])), semi_axes=(a, b), angle_deg=angle),
        depth_px=float(table["half_length_mm"]) / mm_per_px,
        mm_per_px=mm_per_px,
        view="frontal",
        source=source,
        max_stretch=float(table["max_stretch"]),
    )


def _extent(
    mask: np.ndarray, cell_px: float, start: np.ndarray, direction: np.ndarray
) -> float | None:
    """Distance in photo px from ``start`` to the last mask cell along ``direction``.

    ``None`` when the ray leaves the photo while still inside the mask (the head is cut
    off by the frame, so its extent is unknown).
    """
    h, w = mask.shape
    d = np.asarray(direction, dtype=np.float64) / np.hypot(*direction)
    n = int(2 * max(h, w) * cell_px)
    k = np.arange(n, dtype=np.float64)
    xi = np.rint((start[0] + d[0] * k + 0.5) / cell_px - 0.5).astype(np.int64)
    yi = np.rint((start[1] + d[1] * k + 0.5) / cell_px - 0.5).astype(np.int64)
    inside_frame = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    last_in_frame = int(np.argmin(inside_frame)) if not inside_frame.all() else n
    hits = np.asarray(mask[yi[:last_in_frame], xi[:last_in_frame]], dtype=bool)
    if not hits.any():
        return None
    if hits[-1]:
        return None
    return float(k[int(np.flatnonzero(hits)[-1])])


def fit_silhouette_ellipse(mask: np.ndarray, *, cell_px: float = 1.0) -> Ellipse:
    """The ellipse that best fits the outline of the largest region of a head mask.

    For top views (the outline is the cranium's widest section) and back views.
    """
    import cv2

    m = np.ascontiguousarray(mask, dtype=np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        raise PointillistError(
            "no head found in the photo; give a --mask of the treatment area or a photo "
            "where the head stands out from the background"
        )
    contour = max(contours, key=cv2.contourArea)
    if len(contour) < 5 or cv2.contourArea(contour) < 0.01 * m.size:
        raise PointillistError(
            "the head is too small in the photo to fit a head model; crop closer to the head"
        )
    (cx, cy), (w_ax, h_ax), angle = cv2.fitEllipse(contour)
    to_px = float(cell_px)
    return Ellipse(
        center=((cx + 0.5) * to_px - 0.5, (cy + 0.5) * to_px - 0.5),
        semi_axes=(w_ax / 2.0 * to_px, h_ax / 2.0 * to_px),
        angle_deg=float(angle),
    )


def fit_silhouette(outline: Ellipse, mm_per_px: float) -> HeadModel:
    """Head model of a top (or back) view from its outline ellipse and the scale.

    The dome's height above the outline is ``dome_height_mm`` scaled by how this head's
    breadth compares with the average (``data/head.toml``).
    """
    table = _table()["ellipsoid"]
    breadth_mm = outline.width_px * mm_per_px
    dome_mm = float(table["dome_height_mm"]) * breadth_mm / (2.0 * float(table["half_breadth_mm"]))
    return HeadModel(
        outline=outline,
        depth_px=dome_mm / mm_per_px,
        mm_per_px=mm_per_px,
        view="silhouette",
        source="silhouette",
        max_stretch=float(table["max_stretch"]),
    )


def flat_head(width: int, height: int, mm_per_px: float) -> HeadModel:
    """A flat scalp (close-ups where no head outline is visible): one pixel, one area."""
    return HeadModel(
        outline=Ellipse(center=(width / 2.0, height / 2.0), semi_axes=(1e9, 1e9), angle_deg=0.0),
        depth_px=0.0,
        mm_per_px=mm_per_px,
        view="flat",
        source="close-up",
        max_stretch=1.0,
    )
