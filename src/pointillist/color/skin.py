"""Measure skin colour from a photo region: CIELAB, ITA, category, Fitzpatrick estimate.

Pixels are linearised from sRGB first (averaging gamma-encoded values biases the
result), optionally corrected with a ColorChecker 24 found in the same photo
(colour-science ``colour_correction``, Cheung 2004), converted to CIELAB (D65) and
averaged robustly: the darkest and lightest pixels by L* (hair, pores, shadow,
specular shine) are trimmed before the mean.

ITA, its Chardon / Del Bino category and the Fitzpatrick estimate come from
:mod:`pointillist.domain.skin_type`; the estimate always carries its caveat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pointillist.color import optics
from pointillist.data import load_table
from pointillist.domain.skin_type import (
    fitzpatrick_caveat,
    fitzpatrick_from_ita,
    ita_category,
    ita_deg,
)
from pointillist.errors import PointillistError

MAX_PIXELS = 50_000_000
MIN_SKIN_PIXELS = 25
COLORCHECKER = "ColorChecker24 - After November 2014"


@dataclass(frozen=True)
class SkinMeasurement:
    """A skin colour and what follows from it.

    Attributes
    ----------
    lab
        CIELAB (L*, a*, b*) under D65.
    ita_deg
        Individual typology angle, degrees (Chardon et al. 1991).
    category
        Chardon / Del Bino category, e.g. ``"intermediate"``.
    fitzpatrick_estimate
        Fitzpatrick type 1-6 estimated from ITA (Wilkes 2015): an estimate, see
        :attr:`caveat`.
    """

    lab: tuple[float, float, float]
    ita_deg: float
    category: str
    fitzpatrick_estimate: int

    @property
    def caveat(self) -> str:
        """Why the Fitzpatrick estimate is only an estimate."""
        return fitzpatrick_caveat()


def skin_from_lab(lab: Sequence[float]) -> SkinMeasurement:
    """The measurement for a known CIELAB (D65) skin colour."""
    from pointillist.color.dot import check_lab

    lightness, a, b = check_lab(lab)
    if b < 0.0:
        raise PointillistError(
            f"skin b* {b:.1f} is bluish, which skin never is: the photo's colour balance is "
            "off; correct it with --checker or give a colorimeter reading with --lab"
        )
    ita = ita_deg(lightness, b)
    return SkinMeasurement(
        lab=(lightness, a, b),
        ita_deg=ita,
        category=ita_category(ita),
        fitzpatrick_estimate=fitzpatrick_from_ita(ita),
    )


def skin_from_ita(ita: float) -> SkinMeasurement:
    """The model skin (layered Kubelka-Munk, bare) with this ITA in degrees."""
    ita_category(ita)  # validates the range
    lab = optics.bare_skin_lab(optics.melanin_fraction_for_ita(ita))
    return skin_from_lab(lab)


def skin_from_fitzpatrick(fitzpatrick: int) -> SkinMeasurement:
    """A typical model skin for a Fitzpatrick type (1-6), from the middle of its ITA band."""
    if fitzpatrick not in range(1, 7):
        raise PointillistError(f"Fitzpatrick type {fitzpatrick} does not exist; give 1 to 6")
    itas = load_table("optics")["reference_skin"]["ita_deg_by_fitzpatrick"]
    return skin_from_ita(float(itas[fitzpatrick - 1]))


def box_mask(shape: tuple[int, ...], box: Sequence[int]) -> NDArray[np.bool_]:
    """A boolean mask of an image's ``(x, y, w, h)`` box, checked against the image size."""
    if len(box) != 4:
        raise PointillistError("a box needs four integers x,y,w,h")
    x, y, w, h = (int(v) for v in box)
    height, width = shape[0], shape[1]
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise PointillistError(
            f"box {x},{y},{w},{h} does not fit inside the {width}x{height} photo; "
            "give x,y,w,h in pixels inside it"
        )
    mask = np.zeros((height, width), dtype=bool)
    mask[y : y + h, x : x + w] = True
    return mask


def measure_skin(
    rgb: NDArray[np.uint8],
    mask: NDArray[np.bool_],
    *,
    checker_corners: Sequence[Sequence[float]] | None = None,
    trim: float = 0.1,
) -> SkinMeasurement:
    """Measure the skin colour of the masked pixels of an sRGB photo.

    Parameters
    ----------
    rgb
        The photo, ``uint8`` array of shape (H, W, 3), sRGB encoded.
    mask
        Boolean (H, W): True on skin to measure.
    checker_corners
        Pixel (x, y) centres of the four corner patches of a ColorChecker 24 in the
        photo, in the order dark skin (top left), bluish green (top right), black
        (bottom right), white (bottom left), as the chart is read with its brown patch at
        the top left. When given, the photo's colours are corrected to the chart first.
    trim
        Fraction of pixels trimmed at each end of the L* distribution (0 to 0.45).

    Returns
    -------
    The skin's CIELAB (D65), ITA, category and Fitzpatrick estimate.
    """
    image = _check_image(rgb)
    if mask.shape != image.shape[:2] or mask.dtype != np.bool_:
        raise PointillistError(
            f"the skin mask must be a boolean array of shape {image.shape[:2]}, "
            f"got {mask.dtype} {mask.shape}"
        )
    if not 0.0 <= trim < 0.45:
        raise PointillistError(f"trim {trim} must be from 0 to 0.45")
    count = int(mask.sum())
    if count < MIN_SKIN_PIXELS:
        raise PointillistError(
            f"the skin region has {count} pixels; give a region of at least "
            f"{MIN_SKIN_PIXELS} pixels of bare skin"
        )
    linear = _linearise(image[mask])
    if checker_corners is not None:
        linear = _checker_correct(linear, _linearise(image), checker_corners)
    lab = optics.xyz_to_lab(optics.linear_srgb_to_xyz(np.clip(linear, 0.0, None)))
    lo, hi = np.quantile(lab[:, 0], [trim, 1.0 - trim])
    kept = lab[(lab[:, 0] >= lo) & (lab[:, 0] <= hi)]
    mean = kept.mean(axis=0)
    return skin_from_lab((float(mean[0]), float(mean[1]), float(mean[2])))


def _check_image(rgb: Any) -> NDArray[np.uint8]:
    image = np.asarray(rgb)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise PointillistError(
            f"expected an 8-bit RGB image (H, W, 3) uint8, got {image.dtype} {image.shape}"
        )
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise PointillistError("the photo is larger than 50 megapixels; resize it first")
    return image


def _linearise(values: NDArray[np.uint8]) -> NDArray[np.float64]:
    return optics.srgb_to_linear(values.astype(float) / 255.0)


def colorchecker_reference_linear_srgb() -> NDArray[np.float64]:
    """The 24 patches of the ColorChecker 24 (X-Rite, after November 2014) in linear sRGB.

    Reference xyY (D50) from colour-science, adapted to D65 (CAT02), row by row from
    dark skin to black.
    """
    import colour

    checker = colour.CCS_COLOURCHECKERS[COLORCHECKER]
    xyy = np.array(list(checker.data.values()), dtype=float)
    xyz = colour.xyY_to_XYZ(xyy)
    rgb: NDArray[np.float64] = np.asarray(
        colour.XYZ_to_RGB(xyz, "sRGB", checker.illuminant, apply_cctf_encoding=False),
        dtype=float,
    )
    return rgb


def _homography(src: NDArray[np.float64], dst: NDArray[np.float64]) -> NDArray[np.float64]:
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.asarray(rows, dtype=float))
    h: NDArray[np.float64] = vt[-1].reshape(3, 3)
    normalised: NDArray[np.float64] = h / h[2, 2]
    return normalised


def sample_checker(
    linear_image: NDArray[np.float64], corners: Sequence[Sequence[float]]
) -> NDArray[np.float64]:
    """Median linear RGB of the 24 patches of a ColorChecker 24 given its corner patches.

    ``corners`` are the pixel centres of patches dark skin, bluish green, black and white
    (clockwise from the top left). Each patch is sampled over the middle third of its
    cell so that borders and perspective error stay out.
    """
    pts = np.asarray(corners, dtype=float)
    if pts.shape != (4, 2) or not np.isfinite(pts).all():
        raise PointillistError("give the colour checker as four corner points x,y")
    # Patch-centre grid coordinates (column, row) of the four corner patches.
    grid = np.array([[0, 0], [5, 0], [5, 3], [0, 3]], dtype=float)
    h = _homography(grid, pts)
    height, width = linear_image.shape[:2]
    samples = []
    for row in range(4):
        for col in range(6):
            offsets = np.linspace(-1 / 6, 1 / 6, 5)
            gx, gy = np.meshgrid(col + offsets, row + offsets)
            ones = np.ones_like(gx)
            mapped = np.einsum("ij,jk->ik", h, np.stack([gx.ravel(), gy.ravel(), ones.ravel()]))
            xs = np.rint(mapped[0] / mapped[2]).astype(int)
            ys = np.rint(mapped[1] / mapped[2]).astype(int)
            if xs.min() < 0 or ys.min() < 0 or xs.max() >= width or ys.max() >= height:
                raise PointillistError(
                    "the colour checker corners put patches outside the photo; "
                    "give the centres of its four corner patches"
                )
            samples.append(np.median(linear_image[ys, xs], axis=0))
    return np.asarray(samples, dtype=float)


def _checker_correct(
    linear_pixels: NDArray[np.float64],
    linear_image: NDArray[np.float64],
    corners: Sequence[Sequence[float]],
) -> NDArray[np.float64]:
    import colour

    measured = sample_checker(linear_image, corners)
    corrected: NDArray[np.float64] = np.asarray(
        colour.colour_correction(
            linear_pixels, measured, colorchecker_reference_linear_srgb(), method="Cheung 2004"
        ),
        dtype=float,
    )
    return corrected
