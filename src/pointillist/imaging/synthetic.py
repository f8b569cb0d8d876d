"""Synthetic heads with known ground truth, for tests, the demo and the benchmark.

No package ships a top view of a balding head, and a test cannot check a measured
area against a photo whose true area nobody knows. These heads are drawn from the same
ellipsoid the pipeline fits (``data/head.toml``), so their scale, bald area on the
surface, face points and design hairline are known exactly:

- :func:`synthetic_top_view`: a crown seen from above, a bald top inside a horseshoe of
  short hair, on a plain backdrop;
- :func:`synthetic_frontal`: a face seen from the front with a receded hairline
  (hair only on the sides), and the named landmarks a practitioner would click.

They are line drawings with shading and texture, not portraits: MediaPipe does not
reliably find a face in them, so frontal tests pass their landmarks explicitly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pointillist.imaging.head import Ellipse, HeadModel, fit_silhouette
from pointillist.imaging.landmarks import FaceKeypoints

SKIN_SRGB = (222, 176, 146)
HAIR_SRGB = (46, 36, 30)


@dataclass(frozen=True)
class SyntheticHead:
    """A drawn head and its ground truth.

    Attributes
    ----------
    rgb
        ``(H, W, 3)`` uint8 image.
    mm_per_px
        True scale.
    bald_mask
        ``(H, W)`` bool: bare scalp (the area an SMP course would treat).
    bald_area_cm2
        Area of ``bald_mask`` on the true ellipsoid surface.
    head
        The true head model.
    keypoints
        Named face points (frontal views), else ``None``.
    """

    rgb: np.ndarray
    mm_per_px: float
    bald_mask: np.ndarray
    bald_area_cm2: float
    head: HeadModel
    keypoints: FaceKeypoints | None
    view: str


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _linear_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    s = np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055)
    return np.clip(np.rint(s * 255.0), 0, 255).astype(np.uint8)


def _noise(shape: tuple[int, int], sigma: float, rng: np.random.Generator) -> np.ndarray:
    import cv2

    # Wide blurs are done on a coarser grid and interpolated: same look, far less work.
    k = max(1, int(sigma // 4))
    coarse = (max(1, -(-shape[0] // k)), max(1, -(-shape[1] // k)))
    field = rng.standard_normal(coarse).astype(np.float32)
    if sigma / k > 0.3:
        field = np.asarray(cv2.GaussianBlur(field, (0, 0), sigma / k), dtype=np.float32)
    if k > 1:
        field = np.asarray(
            cv2.resize(field, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR),
            dtype=np.float32,
        )
    std = float(field.std())
    return field / std if std > 0 else field


def _backdrop(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A photographer's grey-blue backdrop, lighter at the top, slightly mottled."""
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    top = _srgb_to_linear(np.array([150, 160, 172]))
    bottom = _srgb_to_linear(np.array([88, 98, 112]))
    base = top * (1 - y) + bottom * y
    mottle = 1.0 + 0.05 * _noise((h, w), max(h, w) / 40, rng)[..., None]
    return np.broadcast_to(base, (h, w, 3)) * mottle


def _shading(head: HeadModel, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lambert shading, a soft sheen, and the normalised radius of the ellipsoid.

    The light comes from the upper left and the camera; bare scalp is slightly shiny.
    """
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    gx, gy = head._gradient(xs, ys)
    norm = np.sqrt(1.0 + gx * gx + gy * gy)
    light = np.array([-0.35, -0.45, 1.0], np.float32)
    light /= np.linalg.norm(light)
    lambert = (-gx * light[0] - gy * light[1] + light[2]) / norm
    (cx, cy), (a, b) = head.outline.center, head.outline.semi_axes
    th = math.radians(head.outline.angle_deg)
    dx, dy = xs - cx, ys - cy
    s = (dx * math.cos(th) + dy * math.sin(th)) / a
    t = (-dx * math.sin(th) + dy * math.cos(th)) / b
    half = light + np.array([0.0, 0.0, 1.0], np.float32)
    half /= np.linalg.norm(half)
    n_dot_h = np.clip((-gx * half[0] - gy * half[1] + half[2]) / norm, 0.0, 1.0)
    gloss = 0.06 * n_dot_h**30
    return 0.3 + 0.75 * np.clip(lambert, 0.0, 1.0), gloss, np.sqrt(s * s + t * t)


def _hair_layer(
    h: int,
    w: int,
    mm_per_px: float,
    rng: np.random.Generator,
    direction: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Short hair: dark strands about 3 mm long, lying along ``direction`` (radians).

    Returns the hair's linear colour and a strand-texture alpha (0-1).
    """
    import cv2

    # Strands are drawn at no finer than 0.3 mm per pixel, then interpolated.
    k = max(1, int(0.3 / mm_per_px))
    full_h, full_w = h, w
    h, w = -(-h // k), -(-w // k)
    mm_per_px = mm_per_px * k
    dots = (rng.random((h, w)) < 0.3).astype(np.float32)
    length = max(3, round(3.0 / mm_per_px) | 1)
    half = length // 2
    strands = np.zeros((h, w), np.float32)
    weights = np.zeros((h, w), np.float32)
    for i in range(4):
        theta = i * math.pi / 4
        kernel = np.zeros((length, length), np.float32)
        dx, dy = round(half * math.cos(theta)), round(half * math.sin(theta))
        cv2.line(kernel, (half - dx, half - dy), (half + dx, half + dy), 1.0, 1)
        kernel /= kernel.sum()
        weight = np.cos(direction[::k, ::k] - theta) ** 8
        strands += cv2.filter2D(dots, -1, kernel) * weight
        weights += weight
    strands /= np.maximum(weights, 1e-6)
    strands = np.clip((strands - strands.mean()) / (strands.std() + 1e-6) * 0.25 + 0.85, 0, 1)
    if k > 1:
        strands = cv2.resize(strands, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
    tint = 0.8 + 0.2 * _noise((full_h, full_w), 1.0, rng)[..., None]
    colour = _srgb_to_linear(np.array(HAIR_SRGB)) * tint
    return colour.astype(np.float32), strands.astype(np.float32)


def _compose(
    background: np.ndarray,
    head_mask: np.ndarray,
    shade: np.ndarray,
    hair_alpha: np.ndarray,
    rng: np.random.Generator,
    mm_per_px: float,
    direction: np.ndarray,
    gloss: np.ndarray,
) -> np.ndarray:
    import cv2

    h, w = head_mask.shape
    skin = _srgb_to_linear(np.array(SKIN_SRGB))
    pores = 1.0 + 0.035 * _noise((h, w), 0.6 / mm_per_px * 0.3, rng)
    skin_img = skin[None, None, :] * (shade * pores)[..., None] + gloss[..., None]
    hair_colour, strands = _hair_layer(h, w, mm_per_px, rng, direction)
    alpha = (hair_alpha * strands)[..., None]
    head_img = skin_img * (1.0 - alpha) + hair_colour * shade[..., None] * alpha
    edge = cv2.GaussianBlur(head_mask.astype(np.float32), (0, 0), 1.0)[..., None]
    return _linear_to_srgb(background * (1.0 - edge) + head_img * edge)


def synthetic_top_view(
    *,
    width: int = 800,
    height: int = 900,
    mm_per_px: float = 0.3,
    breadth_mm: float = 152.0,
    length_mm: float = 194.0,
    seed: int = 0,
) -> SyntheticHead:
    """A balding head seen from above: bald crown and top, a horseshoe of short hair.

    The forehead is at the top of the image. The bald region is an irregular ellipse
    over the top of the head; the hair around it thins over a few millimetres, as on a
    real Norwood V-VI pattern.
    """
    rng = np.random.default_rng(seed)
    a = breadth_mm / 2.0 / mm_per_px
    b = length_mm / 2.0 / mm_per_px
    if 2 * a > 0.9 * width or 2 * b > 0.9 * height:
        raise ValueError("the head does not fit the image at this scale")
    outline = Ellipse(
        center=(width / 2.0 - 0.5, height / 2.0 - 0.5), semi_axes=(a, b), angle_deg=0.0
    )
    head = fit_silhouette(outline, mm_per_px)
    shade, gloss, r = _shading(head, height, width)
    head_mask = r <= 1.0
    ys = np.arange(height, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    s = (xs - outline.center[0]) / a
    t = (ys - outline.center[1]) / b
    # Bald top: an ellipse shifted towards the front, with a wavy edge.
    angle = np.arctan2(t + 0.1, s)
    phase = rng.uniform(0, 2 * np.pi, 3)
    wobble = 1.0 + 0.05 * np.sin(3 * angle + phase[0]) + 0.03 * np.sin(7 * angle + phase[1])
    rb = np.sqrt((s / 0.62) ** 2 + ((t + 0.1) / 0.78) ** 2) / wobble
    edge_px = 4.0 / mm_per_px
    scale_r = edge_px / (0.7 * a)
    hair_alpha = np.clip((rb - 1.0) / scale_r + 0.5, 0.0, 1.0).astype(np.float32) * 0.95
    bald_mask = head_mask & (hair_alpha < 0.5)
    combed = np.arctan2(t + 0.1, s)  # hair lies outward from the crown
    gloss = gloss * (1.0 - hair_alpha)
    rgb = _compose(
        _backdrop(height, width, rng), head_mask, shade, hair_alpha, rng, mm_per_px, combed, gloss
    )
    area = head.surface_area_mm2(bald_mask.astype(np.float32)) / 100.0
    return SyntheticHead(
        rgb=rgb,
        mm_per_px=mm_per_px,
        bald_mask=bald_mask,
        bald_area_cm2=area,
        head=head,
        keypoints=None,
        view="top",
    )


def synthetic_frontal(
    *,
    width: int = 700,
    height: int = 900,
    mm_per_px: float = 0.3,
    seed: int = 0,
) -> SyntheticHead:
    """A bald-topped head seen from the front, hair left only on the sides (Norwood VI).

    The head is the average ellipsoid of ``data/head.toml`` (so
    :func:`~pointillist.imaging.head.fit_frontal` recovers it from the key points);
    ``keypoints`` are where a practitioner would click, with the iris 11.7 mm across.
    ``bald_mask`` is the bare scalp above the eyebrows' level.
    """
    import cv2

    from pointillist.data import load_table
    from pointillist.imaging.scale import iris_diameter_mm

    rng = np.random.default_rng(seed)
    table = load_table("head")["ellipsoid"]
    px = 1.0 / mm_per_px
    cx, cy = width / 2.0 - 0.5, height * 0.47
    a = float(table["half_breadth_mm"]) * px
    b = float(table["vertex_above_canthus_mm"]) * px
    if cy - b < 0.02 * height or 2 * a > 0.95 * width:
        raise ValueError("the head does not fit the image at this scale")
    cranium = HeadModel(
        outline=Ellipse(center=(cx, cy), semi_axes=(a, b), angle_deg=0.0),
        depth_px=float(table["half_length_mm"]) * px,
        mm_per_px=mm_per_px,
        view="frontal",
        source="synthetic",
        max_stretch=float(table["max_stretch"]),
    )
    face_half = a * float(table["face_to_head_breadth"])
    chin = 118.0 * px
    face = HeadModel(
        outline=Ellipse(center=(cx, cy), semi_axes=(face_half, chin), angle_deg=0.0),
        depth_px=90.0 * px,
        mm_per_px=mm_per_px,
        view="frontal",
        source="synthetic",
        max_stretch=float(table["max_stretch"]),
    )
    ys = np.arange(height, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]
    upper = ys < cy
    shade_c, gloss_c, r_c = _shading(cranium, height, width)
    shade_f, _gloss_f, r_f = _shading(face, height, width)
    blend = np.clip((cy - ys) / (20.0 * px) + 0.5, 0.0, 1.0)
    shade = np.where(r_c <= 1.0, shade_c, shade_f) * blend + shade_f * (1.0 - blend)
    gloss = gloss_c * blend
    head_mask = np.where(upper, r_c <= 1.0, r_f <= 1.0)
    neck = (np.abs(xs - cx) < 55.0 * px) & (ys > cy + 60.0 * px)
    head_mask = head_mask | neck
    shade = np.where(neck & ~np.where(upper, r_c <= 1.0, r_f <= 1.0), 0.55, shade)
    s = (xs - cx) / a
    t = (ys - cy) / b
    # Hair on the sides: a band above the ears up to about a third of the way to the top.
    wobble = 0.03 * _noise((height, width), 6.0 * px, rng)
    side = np.clip((np.abs(s) + wobble - 0.74) / 0.04, 0.0, 1.0)
    vertical = np.clip((t + 0.5 + wobble) / 0.05, 0.0, 1.0) * np.clip((0.25 - t) / 0.05, 0, 1)
    hair_alpha = (side * vertical * (r_c <= 1.0)).astype(np.float32) * 0.95
    combed = np.where(s < 0, np.pi * 0.6, np.pi * 0.4) * np.ones_like(t)
    rgb_lin = _srgb_to_linear(
        _compose(
            _backdrop(height, width, rng),
            head_mask,
            shade,
            hair_alpha,
            rng,
            mm_per_px,
            combed,
            gloss * (1.0 - hair_alpha),
        )
    )
    canvas = _linear_to_srgb(rgb_lin)

    def p(x_mm: float, y_mm: float) -> tuple[int, int]:
        return round(cx + x_mm * px), round(cy + y_mm * px)

    def mm(v: float) -> int:
        return max(1, round(v * px))

    skin_dark = tuple(int(v * 0.8) for v in SKIN_SRGB)
    for sign in (-1, 1):
        cv2.ellipse(canvas, p(sign * 74.0, 12.0), (mm(9.0), mm(28.0)), 0, 0, 360, skin_dark, -1)
        cv2.ellipse(
            canvas, p(sign * 30.0, 0.0), (mm(15.0), mm(6.0)), 0, 0, 360, (240, 238, 232), -1
        )
        iris_r = iris_diameter_mm() / 2.0
        cv2.circle(canvas, p(sign * 30.0, 0.0), mm(iris_r), (96, 70, 50), -1, cv2.LINE_AA)
        cv2.circle(canvas, p(sign * 30.0, 0.0), mm(2.2), (15, 12, 10), -1, cv2.LINE_AA)
        cv2.ellipse(
            canvas, p(sign * 30.0, 1.0), (mm(15.5), mm(7.5)), 0, 180, 360, (90, 60, 50), mm(1.2),
            cv2.LINE_AA,
        )  # fmt: skip
        cv2.ellipse(
            canvas, p(sign * 31.0, -9.0), (mm(19.0), mm(7.0)), 0, 195, 345, HAIR_SRGB, mm(3.5),
            cv2.LINE_AA,
        )  # fmt: skip
        cv2.ellipse(canvas, p(sign * 7.0, 50.0), (mm(4.5), mm(2.5)), 0, 0, 360, (110, 70, 60), -1)
    cv2.line(canvas, p(3.0, 8.0), p(6.0, 46.0), skin_dark, mm(1.5), cv2.LINE_AA)
    cv2.ellipse(
        canvas, p(0.0, 76.0), (mm(24.0), mm(5.5)), 0, 0, 360, (170, 90, 85), -1, cv2.LINE_AA
    )
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.6)

    def f(x_mm: float, y_mm: float) -> tuple[float, float]:
        return (cx + x_mm * px, cy + y_mm * px)

    forehead = np.array([f(-30, -22), f(30, -22), f(30, -48), f(-30, -48)], dtype=np.float64)
    keypoints = FaceKeypoints(
        glabella=f(0.0, -12.0),
        lateral_canthus_right=f(-45.0, 0.0),
        lateral_canthus_left=f(45.0, 0.0),
        chin=f(0.0, 118.0),
        face_side_right=f(-face_half * mm_per_px, 8.0),
        face_side_left=f(face_half * mm_per_px, 8.0),
        iris_diameter_px=iris_diameter_mm() * px,
        forehead_patch=forehead,
        source="synthetic",
    )
    bald_mask = (r_c <= 1.0) & upper & (hair_alpha < 0.5) & (ys < cy - 25.0 * px)
    area = cranium.surface_area_mm2(bald_mask.astype(np.float32)) / 100.0
    return SyntheticHead(
        rgb=np.ascontiguousarray(canvas),
        mm_per_px=mm_per_px,
        bald_mask=bald_mask,
        bald_area_cm2=area,
        head=cranium,
        keypoints=keypoints,
        view="frontal",
    )
