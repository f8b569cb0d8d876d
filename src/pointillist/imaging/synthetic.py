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

    field = rng.standard_normal(shape).astype(np.float32)
    if sigma > 0.3:
        field = np.asarray(cv2.GaussianBlur(field, (0, 0), sigma), dtype=np.float32)
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

    dots = (rng.random((h, w)) < 0.3).astype(np.float32)
    length = max(3, round(3.0 / mm_per_px) | 1)
    half = length // 2
    strands = np.zeros((h, w), np.float32)
    weights = np.zeros((h, w), np.float32)
    for k in range(4):
        theta = k * math.pi / 4
        kernel = np.zeros((length, length), np.float32)
        dx, dy = round(half * math.cos(theta)), round(half * math.sin(theta))
        cv2.line(kernel, (half - dx, half - dy), (half + dx, half + dy), 1.0, 1)
        kernel /= kernel.sum()
        weight = np.cos(direction - theta) ** 8
        strands += cv2.filter2D(dots, -1, kernel) * weight
        weights += weight
    strands /= np.maximum(weights, 1e-6)
    strands = np.clip((strands - strands.mean()) / (strands.std() + 1e-6) * 0.25 + 0.85, 0, 1)
    tint = 0.8 + 0.2 * _noise((h, w), 1.0, rng)[..., None]
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
