"""Render impressions on a photo as pigment under the skin.

A healed SMP dot is pigment in the dermis seen through the epidermis: it does not paint
over the skin, it removes part of the light the skin would send back. So the renderer
works in linear light and multiplies each pixel by the dot's reflectance ratio,
``1 - coverage * opacity * (1 - ratio)`` per channel, which keeps the photo's lighting,
pores and texture under the dot.

What a dot looks like (its colour ratio, the share of its footprint it covers, its soft
halo) is a :class:`~pointillist.color.look.DotLook`, calibrated by the colour layer so
that a fully treated area darkens by a target L* for the client's skin.

Coverage is analytic: the dot is the ellipse ``q <= 1`` (``q`` its normalised radius)
and its edge is a smooth step (close to a Gaussian-blurred one) whose width combines
the halo (mm on the scalp) and an anti-aliasing pre-filter (pixels). Each dot keeps its
ink (area times darkness) at any pixel size: the anti-aliasing widens a small dot but
lowers its strength by as much, and the pigmented shares of a pixel add up (clamped at
full cover) rather than multiply, so a pixel holding several sub-pixel dots is as dark
as their ink says. The same head at 1x and 4x thus darkens by the same mean amount.
The work runs in horizontal strips of the image, one worker per
strip with a private buffer of bare-skin fractions; only the blocks of 16 pixels a dot
reaches go through one lookup table (level and fraction to darkened level, computed in linear
light), and the rest of each row is copied
as it streams by, so the cost is one copy of the image plus work in proportion to
the dots' area.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pointillist.color.look import EDGE_HALF_WIDTH, DotLook, default_look, edge_coverage
from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.imaging import kernels
from pointillist.imaging.impressions import Impressions

__all__ = ["EDGE_HALF_WIDTH", "DotLook", "edge_coverage", "render_impressions", "render_sessions"]

STRIP_ROWS = 32
BLOCK_COLS = 16
_SQRT_LUT_SIZE = 4096
TONE_LEVELS = 256
"""Levels of the bare-skin fraction in the tone table (steps under 0.3 sRGB levels)."""


@cache
def _srgb_to_linear() -> NDArray[np.float32]:
    v = np.arange(256, dtype=np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return lin.astype(np.float32)


@cache
def _sqrt_linear_to_srgb() -> NDArray[np.uint8]:
    """sRGB level of linear value ``(i / 4095)**2``: steps even in perceived lightness."""
    lin = (np.arange(_SQRT_LUT_SIZE, dtype=np.float64) / (_SQRT_LUT_SIZE - 1)) ** 2
    v = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1.0 / 2.4) - 0.055)
    return np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)


@lru_cache(maxsize=8)
def _tone_table(ratio: tuple[float, float, float]) -> NDArray[np.uint8]:
    """``[channel, t, level]``: the sRGB level of ``level`` under a bare-skin fraction
    ``T = t / 255``, i.e. linear light times ``1 - (1 - T) * (1 - ratio)``."""
    bare = np.arange(TONE_LEVELS, dtype=np.float64) / (TONE_LEVELS - 1)
    factor = 1.0 - (1.0 - bare)[None, :] * (1.0 - np.asarray(ratio))[:, None]
    lin = _srgb_to_linear().astype(np.float64)
    root = np.sqrt(factor[:, :, None] * lin[None, None, :])
    index = np.rint(root * (_SQRT_LUT_SIZE - 1)).astype(np.intp)
    return np.ascontiguousarray(_sqrt_linear_to_srgb()[index])


def _check_image(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise PointillistError("image: expected a uint8 numpy array (H, W, 3), sRGB")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise PointillistError(f"image of shape {image.shape}: expected (H, W, 3) sRGB")
    return image


def _check_look(look: DotLook) -> NDArray[np.float64]:
    ratio = np.asarray(look.ratio_rgb, dtype=np.float64)
    if ratio.shape != (3,) or not ((ratio > 0) & (ratio <= 1)).all():
        raise PointillistError(
            f"dot look ratio {list(np.ravel(ratio))}: give three ratios in (0, 1] (R, G, B)"
        )
    if not (0.0 < look.coverage <= 1.0 and look.halo_mm >= 0.0):
        raise PointillistError(
            f"dot look coverage {look.coverage}, halo {look.halo_mm} mm: give a coverage "
            "in (0, 1] and a halo >= 0 mm"
        )
    return ratio


def _check_impressions(impressions: Impressions) -> None:
    n = len(impressions)
    shapes_ok = (
        impressions.xy.shape == (n, 2)
        and impressions.semi_axes_px.shape == (n, 2)
        and all(
            a.shape == (n,)
            for a in (
                impressions.angle_rad,
                impressions.diameter_mm,
                impressions.shade,
                impressions.opacity,
            )
        )
    )
    if not shapes_ok:
        raise PointillistError("impressions: arrays of different lengths; build them whole")
    values_ok = (
        np.isfinite(impressions.xy).all()
        and np.isfinite(impressions.angle_rad).all()
        and (impressions.semi_axes_px > 0).all()
        and (impressions.diameter_mm > 0).all()
        and np.isfinite(impressions.shade).all()
        and ((impressions.opacity >= 0) & (impressions.opacity <= 1)).all()
    )
    if not values_ok:
        raise PointillistError(
            "impressions: positions must be finite, sizes positive and opacities in [0, 1]"
        )


def render_impressions(
    image: NDArray[np.uint8],
    impressions: Impressions,
    *,
    look: DotLook | None = None,
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
        ``diameter_mm`` gives the scale for the halo, so no metric is needed here.
    look
        How the dots look on this skin (:func:`pointillist.color.look.dot_look`).
        Default: :func:`~pointillist.color.look.default_look` (no skin colour).
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
    Per pixel, the bare-skin fraction is ``T = max(0, 1 - sum_i coverage_i * s_i)`` over
    the dots, with ``s_i = look.coverage * k_i * opacity_i * (1 - rbar ** shade_i) / (1 -
    rbar)`` (``rbar`` the geometric mean of the ratios: shade is an exponent on the
    ratio; ``k_i`` the ink-keeping factor of the anti-aliasing), and each channel's
    linear value is multiplied by ``1 - (1 - T) * (1 - ratio_c)``. For one dot that is
    ``1 - coverage * s * (1 - ratio_c)``. ``T`` is looked up in 256 steps (under 0.3 sRGB
    levels). Coverage is :func:`edge_coverage` of ``(q - 1) / sigma_q``, with ``q`` the
    dot's normalised radius (the outline is ``q = 1``) and ``sigma_q = sqrt((halo_mm /
    r_mm)**2 + aa_px**2 / (a b))`` the combined blur in units of the dot's radius
    (``r_mm`` its surface radius, ``a, b`` its semi-axes in pixels), and ``k_i =
    footprint_area(halo_mm / r_mm) / footprint_area(sigma_q)``
    (:func:`pointillist.color.look.footprint_area`). Coverage is exactly zero beyond
    ``q = 1 + EDGE_HALF_WIDTH * sigma_q``.
    """
    out: NDArray[np.uint8] = _composite(
        image,
        impressions,
        np.zeros(len(impressions), np.float32),
        1,
        look=look,
        antialias_sigma_px=antialias_sigma_px,
        rendering_override=rendering_override,
    )[0]
    return out


def render_sessions(
    image: NDArray[np.uint8],
    course: Impressions,
    *,
    look: DotLook | None = None,
    antialias_sigma_px: float | None = None,
    rendering_override: str | Path | None = None,
) -> list[NDArray[np.uint8]]:
    """The photo after each session of a course, in one pass over the dots.

    The same images as ``[render_impressions(image, course.up_to_session(k), ...) for k
    in 1..n_sessions]``, pixel for pixel, but every dot is drawn once for all the
    sessions that show it (sessions are cumulative), and the dots are prepared and
    sorted into strips once. Parameters as :func:`render_impressions`.

    Returns
    -------
    list of numpy.ndarray
        ``course.n_sessions`` new ``(H, W, 3)`` uint8 sRGB images (views into one
        block of memory), session 1 first.
    """
    layer = np.asarray(course.session, dtype=np.float32) - np.float32(1.0)
    if len(course) and not (np.diff(layer) >= 0).all():
        raise PointillistError("impressions: sessions must be in order (session 1 first)")
    out = _composite(
        image,
        course,
        layer,
        max(1, course.n_sessions),
        look=look,
        antialias_sigma_px=antialias_sigma_px,
        rendering_override=rendering_override,
    )
    return list(out)


def _composite(
    image: NDArray[np.uint8],
    impressions: Impressions,
    layer: NDArray[np.float32],
    n_layers: int,
    *,
    look: DotLook | None,
    antialias_sigma_px: float | None,
    rendering_override: str | Path | None,
) -> NDArray[np.uint8]:
    """``(n_layers, H, W, 3)``: image ``k`` with the dots of ``layer <= k`` (0-based)."""
    img = _check_image(image)
    if look is None:
        look = default_look(rendering_override=rendering_override)
    ratio = _check_look(look)
    optics = load_table("rendering", rendering_override)["optics"]
    aa_px = float(
        optics["antialias_sigma_px"] if antialias_sigma_px is None else antialias_sigma_px
    )
    if not aa_px > 0:
        raise PointillistError(f"antialias_sigma_px={aa_px}: give an anti-aliasing sigma > 0 px")
    if len(impressions) == 0:
        return np.repeat(np.ascontiguousarray(img)[None], n_layers, axis=0)
    _check_impressions(impressions)
    source = np.ascontiguousarray(img).view()
    # Numba compiles a kernel per memory layout and per writeable flag: photos decoded
    # from files arrive read-only, arrays made in memory writeable. One flag for all
    # keeps one compiled kernel (the one `make install` warms up) for every caller.
    source.flags.writeable = False
    rows, cols = source.shape[:2]
    params, box = kernels.prepare_dots(
        np.ascontiguousarray(impressions.xy, dtype=np.float64),
        np.ascontiguousarray(impressions.semi_axes_px, dtype=np.float32),
        np.ascontiguousarray(impressions.angle_rad, dtype=np.float32),
        np.ascontiguousarray(impressions.diameter_mm, dtype=np.float32),
        np.ascontiguousarray(impressions.shade, dtype=np.float32),
        np.ascontiguousarray(impressions.opacity, dtype=np.float32),
        np.ascontiguousarray(layer, dtype=np.float32),
        float(np.log(ratio).mean()),
        float(look.coverage),
        float(look.halo_mm),
        aa_px,
        EDGE_HALF_WIDTH,
        rows,
        cols,
    )
    n_strips = -(-rows // STRIP_ROWS)
    starts, strip_params = kernels.strip_index(params, box, STRIP_ROWS, n_strips)
    out = np.empty((n_layers, rows, cols, 3), np.uint8)
    kernels.composite_layers(
        source,
        out,
        starts,
        strip_params,
        STRIP_ROWS,
        BLOCK_COLS,
        EDGE_HALF_WIDTH,
        _tone_table((float(ratio[0]), float(ratio[1]), float(ratio[2]))),
        max(1, min(kernels.threads(), n_strips)),
    )
    return out
