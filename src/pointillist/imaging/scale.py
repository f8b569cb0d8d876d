"""Photo scale in millimetres per pixel, always with where it came from.

Densities, dot sizes, the hairline height and the treatment area are physical, so the
pipeline needs the photo's scale. In order of preference:

1. a scale the practitioner gives (``--mm-per-px``), measured with a ruler in the photo;
2. the head width the practitioner measured (``--head-width-mm``) over the width of the
   head outline in the photo;
3. the iris, about 11.7 mm across in adults, when face landmarks exist.

A photo without a face and without either option has no scale: the pipeline refuses it
rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from pointillist.data import load_table
from pointillist.errors import PointillistError

SCALE_SOURCES = ("mm_per_px", "head_width", "iris")


@dataclass(frozen=True)
class Scale:
    """Millimetres per pixel of the photo and the measurement it rests on."""

    mm_per_px: float
    source: str
    """``"mm_per_px"`` (given), ``"head_width"`` (given width over measured width) or ``"iris"``."""
    detail: str

    def px(self, mm: float) -> float:
        """Length in pixels of ``mm`` millimetres (in the image plane)."""
        return mm / self.mm_per_px


def iris_diameter_mm() -> float:
    return float(load_table("head")["iris"]["diameter_mm"])


def scale_from_iris(iris_diameter_px: float) -> Scale:
    """Scale from the mean horizontal iris diameter in pixels (iris = 11.7 mm)."""
    if not iris_diameter_px > 2.0:
        raise PointillistError(
            f"the iris is only {iris_diameter_px:.1f} px across, too small to measure the "
            "scale; give --mm-per-px or --head-width-mm, or a closer photo"
        )
    mm = iris_diameter_mm()
    return Scale(
        mm_per_px=mm / iris_diameter_px,
        source="iris",
        detail=f"iris {iris_diameter_px:.1f} px = {mm:g} mm",
    )


def scale_from_head_width(head_width_mm: float, head_width_px: float) -> Scale:
    """Scale from the head width the practitioner measured and its width in the photo."""
    check_head_width_mm(head_width_mm)
    if not head_width_px > 10.0:
        raise PointillistError(
            "cannot measure the head's width in the photo (no head outline found); "
            "give --mm-per-px or a --mask of the head"
        )
    return Scale(
        mm_per_px=head_width_mm / head_width_px,
        source="head_width",
        detail=f"head width {head_width_mm:g} mm = {head_width_px:.0f} px",
    )


def check_mm_per_px(mm_per_px: float) -> float:
    if not 0.005 <= mm_per_px <= 5.0:
        raise PointillistError(
            f"--mm-per-px {mm_per_px:g} is not a photo scale; give millimetres per pixel "
            "between 0.005 and 5 (a 12 MP head photo is about 0.05-0.2)"
        )
    return float(mm_per_px)


def check_head_width_mm(head_width_mm: float) -> float:
    if not 100.0 <= head_width_mm <= 250.0:
        raise PointillistError(
            f"--head-width-mm {head_width_mm:g} is not an adult head width; give the "
            "breadth above the ears in millimetres (about 130-180)"
        )
    return float(head_width_mm)


def choose_scale(
    *,
    mm_per_px: float | None,
    head_width_mm: float | None,
    head_width_px: float | None,
    iris_diameter_px: float | None,
) -> Scale:
    """Pick the scale: given scale, then given head width, then the iris.

    Raises
    ------
    PointillistError
        When both options are given, or none is and there is no iris to measure.
    """
    if mm_per_px is not None and head_width_mm is not None:
        raise PointillistError("give either --mm-per-px or --head-width-mm, not both")
    if mm_per_px is not None:
        value = check_mm_per_px(mm_per_px)
        return Scale(mm_per_px=value, source="mm_per_px", detail=f"given: {value:g} mm/px")
    if head_width_mm is not None:
        return scale_from_head_width(head_width_mm, head_width_px or 0.0)
    if iris_diameter_px is not None:
        return scale_from_iris(iris_diameter_px)
    raise PointillistError(
        "cannot tell the photo's scale: no face (iris) found; give --mm-per-px "
        "(millimetres per pixel) or --head-width-mm (the head's breadth above the ears)"
    )
