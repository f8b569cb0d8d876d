"""Render impressions on a photo as pigment under the skin.

A healed SMP dot is pigment in the dermis seen through the epidermis: it does not paint
over the skin, it removes part of the light the skin would send back. So the renderer
works in linear light and multiplies each pixel by the dot's reflectance ratio,
``1 - coverage * opacity * (1 - ratio)`` per channel, which keeps the photo's lighting,
pores and texture under the dot. Overlapping dots multiply.

Coverage is analytic: the dot is the ellipse ``q <= 1`` (``q`` its normalised radius)
and its edge is a Gaussian-blurred step whose width combines the dermal blur (mm on the
scalp, ``data/rendering.toml``) and an anti-aliasing pre-filter (pixels). The work is
tiled: each 64-pixel tile with dots gets a private buffer of transmittance factors, and
only pixels a dot reaches go through sRGB -> linear -> sRGB (two lookup tables), so the
cost follows the number of dots, not the image size (besides one copy of the image).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.imaging import _kernels
from pointillist.imaging.impressions import Impressions

TILE_PX = 64
_PROFILE_HALF_WIDTH = 3.5
_PROFILE_SIZE = 1024


@cache
def _srgb_to_linear() -> NDArray[np.float32]:
    v = np.arange(256, dtype=np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return lin.astype(np.float32)


@cache
def _linear_to_srgb() -> NDArray[np.uint8]:
    lin = np.arange(65536, dtype=np.float64) / 65535.0
    v = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1.0 / 2.4) - 0.055)
    return np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)


@cache
def _edge_profile() -> NDArray[np.float32]:
    """Coverage of a Gaussian-blurred edge, ``0.5 * erfc(t / sqrt 2)``, for t in +-3.5."""
    t = np.linspace(-_PROFILE_HALF_WIDTH, _PROFILE_HALF_WIDTH, _PROFILE_SIZE)
    coverage = [0.5 * math.erfc(v / math.sqrt(2.0)) for v in t]
    return np.asarray(coverage, dtype=np.float32)


def _check_image(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise PointillistError("image: expected a uint8 numpy array (H, W, 3), sRGB")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise PointillistError(f"image of shape {image.shape}: expected (H, W, 3) sRGB")
    return image


def _check_ratio(dot_ratio_rgb: Sequence[float]) -> NDArray[np.float64]:
    ratio = np.asarray(dot_ratio_rgb, dtype=np.float64)
    if ratio.shape != (3,) or not ((ratio > 0) & (ratio <= 1)).all():
        raise PointillistError(
            f"dot_ratio_rgb {list(np.ravel(ratio))}: give three ratios in (0, 1] (R, G, B)"
        )
    return ratio


def render_impressions(
    image: NDArray[np.uint8],
    impressions: Impressions,
    *,
    dot_ratio_rgb: Sequence[float] | None = None,
    dermal_blur_mm: float | None = None,
    antialias_sigma_px: float | None = None,
    rendering_override: str | Path | None = None,
) -> NDArray[np.uint8]:
    """Composite impressions under the skin of an sRGB photo, at full resolution.

    Parameters
    ----------
    image
        ``(H, W, 3)`` uint8 sRGB photo; not modified.
    impressions
        The dots to draw, e.g. ``course.up_to_session(k)``. Their outline in pixels
        (``semi_axes_px``, ``angle_rad``) already carries the surface metric, and their
        ``diameter_mm`` gives the scale for the dermal blur, so no metric is needed here.
    dot_ratio_rgb
        Reflectance of pigmented skin over bare skin, linear light, per channel, in
        (0, 1] (smaller is darker). Default: ``rendering.toml`` ``[optics]``.
    dermal_blur_mm
        Gaussian sigma, on the scalp, of the blur of the pigment's edge by the skin
        above it. Default: ``rendering.toml``.
    antialias_sigma_px
        Gaussian pre-filter of the edge in pixels. Default: ``rendering.toml``.
    rendering_override
        A clinic's own ``rendering.toml``.

    Returns
    -------
    numpy.ndarray
        A new ``(H, W, 3)`` uint8 sRGB image; pixels no dot reaches are unchanged.

    Notes
    -----
    Per pixel and channel, the linear value is multiplied by
    ``prod_i (1 - coverage_i * opacity_i * (1 - ratio_c ** shade_i))``. Coverage is
    ``0.5 * erfc((q - 1) / sigma_q / sqrt 2)`` with ``q`` the dot's normalised radius and
    ``sigma_q`` the combined blur in units of the dot's radius; it is cut to zero
    beyond 3.5 sigma, so a pixel farther than that from every dot keeps its exact value.
    """
    img = _check_image(image)
    optics = load_table("rendering", rendering_override)["optics"]
    ratio = _check_ratio(
        optics["default_dot_ratio_rgb"] if dot_ratio_rgb is None else dot_ratio_rgb
    )
    blur_mm = float(optics["dermal_blur_mm"] if dermal_blur_mm is None else dermal_blur_mm)
    aa_px = float(
        optics["antialias_sigma_px"] if antialias_sigma_px is None else antialias_sigma_px
    )
    if not (blur_mm >= 0 and aa_px > 0):
        raise PointillistError(
            f"dermal_blur_mm={blur_mm}, antialias_sigma_px={aa_px}: "
            "give a blur >= 0 mm and an anti-aliasing sigma > 0 px"
        )
    out = np.array(img, order="C", copy=True)
    n = len(impressions)
    if n == 0:
        return out
    rows, cols = out.shape[:2]

    a = impressions.semi_axes_px[:, 0].astype(np.float64)
    b = impressions.semi_axes_px[:, 1].astype(np.float64)
    theta = impressions.angle_rad.astype(np.float64)
    ct, st = np.cos(theta), np.sin(theta)
    inv_a2, inv_b2 = 1.0 / (a * a), 1.0 / (b * b)
    conic = np.stack(
        [
            ct * ct * inv_a2 + st * st * inv_b2,
            ct * st * (inv_a2 - inv_b2),
            st * st * inv_a2 + ct * ct * inv_b2,
        ],
        axis=1,
    ).astype(np.float32)
    radius_mm = 0.5 * impressions.diameter_mm.astype(np.float64)
    sigma_q = np.sqrt((blur_mm / radius_mm) ** 2 + aa_px**2 / (a * b))
    q_max = 1.0 + _PROFILE_HALF_WIDTH * sigma_q
    shade = impressions.shade.astype(np.float64)[:, None]
    absorb = (
        impressions.opacity.astype(np.float64)[:, None] * (1.0 - ratio[None, :] ** shade)
    ).astype(np.float32)

    cx = impressions.xy[:, 0].astype(np.float64)
    cy = impressions.xy[:, 1].astype(np.float64)
    half_x = q_max * np.sqrt(a * a * ct * ct + b * b * st * st)
    half_y = q_max * np.sqrt(a * a * st * st + b * b * ct * ct)
    x0 = np.clip(np.ceil(cx - half_x - 0.5), 0, cols).astype(np.int64)
    x1 = np.clip(np.floor(cx + half_x - 0.5), -1, cols - 1).astype(np.int64)
    y0 = np.clip(np.ceil(cy - half_y - 0.5), 0, rows).astype(np.int64)
    y1 = np.clip(np.floor(cy + half_y - 0.5), -1, rows - 1).astype(np.int64)

    tiles_x = -(-cols // TILE_PX)
    tiles_y = -(-rows // TILE_PX)
    starts, members = _kernels.tile_index(x0, y0, x1, y1, TILE_PX, tiles_x, tiles_y)
    profile = _edge_profile()
    profile_scale = (_PROFILE_SIZE - 1) / (2.0 * _PROFILE_HALF_WIDTH)
    _kernels.composite_dots(
        out,
        starts,
        members,
        TILE_PX,
        tiles_x,
        cx,
        cy,
        conic,
        (1.0 / sigma_q).astype(np.float32),
        q_max.astype(np.float32),
        absorb,
        x0,
        y0,
        x1,
        y1,
        profile,
        -_PROFILE_HALF_WIDTH,
        profile_scale,
        _srgb_to_linear(),
        _linear_to_srgb(),
    )
    return out
