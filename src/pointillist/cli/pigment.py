"""The ``pigment`` command: measure the skin, predict the healed dot, choose the shade."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pointillist.cli._common import OutputFormat, console, print_json
from pointillist.cli.app import app
from pointillist.errors import PointillistError

if TYPE_CHECKING:
    import numpy as np

    from pointillist.color import DotLook, Recommendation, SkinMeasurement
    from pointillist.color.recommend import Choice

Photo = Annotated[
    Path | None, typer.Option("--photo", help="Photo of the client (JPEG, PNG, WebP, HEIC).")
]
Box = Annotated[
    str | None,
    typer.Option(
        "--box",
        help="Bare-skin region of the photo as x,y,w,h in pixels "
        "(default: the forehead, found with face landmarks).",
    ),
]
Checker = Annotated[
    str | None,
    typer.Option(
        "--checker",
        help="Colour-correct with a ColorChecker 24 in the photo: centres of its dark-skin, "
        "bluish-green, black and white corner patches as x1,y1,x2,y2,x3,y3,x4,y4.",
    ),
]
LabOption = Annotated[
    tuple[float, float, float] | None,
    typer.Option("--lab", help="Skin colour measured with a colorimeter: L* a* b* (D65)."),
]
Ita = Annotated[float | None, typer.Option("--ita", help="Skin ITA in degrees.")]
Fitzpatrick = Annotated[
    str | None,
    typer.Option("--fitzpatrick", help="Fitzpatrick type 1-6 or I-VI (a typical skin)."),
]
Depth = Annotated[
    float | None,
    typer.Option("--depth-mm", help="Use this pigment depth in mm instead of choosing it."),
]
HairLab = Annotated[
    tuple[float, float, float] | None,
    typer.Option("--hair-lab", help="Match this hair colour L* a* b* instead of stubble contrast."),
]
Pigments = Annotated[
    Path | None,
    typer.Option("--pigments", help="The clinic's pigment catalogue (TOML, brand shades)."),
]


@app.command()
def pigment(
    photo: Photo = None,
    box: Box = None,
    checker: Checker = None,
    lab: LabOption = None,
    ita: Ita = None,
    fitzpatrick: Fitzpatrick = None,
    depth_mm: Depth = None,
    hair_lab: HairLab = None,
    pigments: Pigments = None,
    format: Annotated[
        OutputFormat,
        typer.Option("--format", help="text (a table) or json (the contract in docs/pigment.md)."),
    ] = OutputFormat.text,
) -> None:
    """Recommend a pigment shade and depth for a skin, with the predicted healed dot.

    Give the skin one way: --photo (with --box or a visible face), --lab, --ita or
    --fitzpatrick.
    """
    from pointillist.color import recommend

    skin = _skin(photo, box, checker, lab, ita, fitzpatrick)
    rec = recommend(skin.lab, depth_mm=depth_mm, hair_lab=hair_lab, override=pigments)
    if format is OutputFormat.json:
        print_json(pigment_payload(skin, rec, pigments))
    else:
        _print_text(skin, rec, pigments)


def _preview_looks(
    skin: SkinMeasurement, rec: Recommendation, pigments: Path | None
) -> tuple[DotLook, DotLook]:
    """The look the simulator draws for the recommended shade, healed and at the horizon."""
    from pointillist.color import dot_look

    best = rec.best.healed
    kwargs: dict[str, Any] = {
        "shade": best.shade.id,
        "depth_mm": best.depth_mm,
        "pigments_override": pigments,
    }
    return dot_look(skin.lab, **kwargs), dot_look(skin.lab, years=rec.horizon_years, **kwargs)


def _look_json(
    skin: SkinMeasurement, healed: DotLook, later: DotLook, years: float
) -> dict[str, Any]:
    import numpy as np

    from pointillist.color.dot import lab_to_linear_srgb, linear_srgb_to_lab

    core = linear_srgb_to_lab(lab_to_linear_srgb(skin.lab) * np.asarray(healed.ratio_rgb))
    return {
        "dot_lab": [round(v, 2) for v in core],
        "dot_ratio_rgb": [round(v, 4) for v in healed.ratio_rgb],
        "coverage": round(healed.coverage, 3),
        "apparent_diameter_mm": round(healed.apparent_diameter_mm, 2),
        "target_drop_l": None if healed.target_drop_l is None else round(healed.target_drop_l, 2),
        "area_drop_l": _rounded(healed.full_density_drop_l),
        "area_drop_l_later": _rounded(later.full_density_drop_l),
        "later_years": years,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _skin(
    photo: Path | None,
    box: str | None,
    checker: str | None,
    lab: tuple[float, float, float] | None,
    ita: float | None,
    fitzpatrick: str | None,
) -> SkinMeasurement:
    from pointillist.color import skin_from_fitzpatrick, skin_from_ita, skin_from_lab

    given = [name for name, v in (("--photo", photo), ("--lab", lab), ("--ita", ita),
                                  ("--fitzpatrick", fitzpatrick)) if v is not None]  # fmt: skip
    if len(given) != 1:
        raise PointillistError(
            "give the skin exactly one way: --photo P, --lab L a b, --ita X or --fitzpatrick N"
            + (f" (got {' and '.join(given)})" if given else "")
        )
    if photo is None and (box is not None or checker is not None):
        raise PointillistError("--box and --checker go with --photo")
    if lab is not None:
        return skin_from_lab(lab)
    if ita is not None:
        return skin_from_ita(ita)
    if fitzpatrick is not None:
        return skin_from_fitzpatrick(_fitzpatrick_type(fitzpatrick))
    assert photo is not None
    return _skin_from_photo(photo, box, checker)


def _fitzpatrick_type(text: str) -> int:
    from pointillist.domain.skin_type import FITZPATRICK_ROMAN

    value = text.strip().upper()
    if value in FITZPATRICK_ROMAN:
        return FITZPATRICK_ROMAN.index(value) + 1
    if value.isdigit():
        return int(value)
    raise PointillistError(f"Fitzpatrick type {text!r} does not exist; give 1 to 6 or I to VI")


def _numbers(text: str, count: int, option: str, shape: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(";", ",").split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise PointillistError(f"{option} takes {count} numbers {shape}, got {text!r}")
    return values


def _skin_from_photo(photo: Path, box: str | None, checker: str | None) -> SkinMeasurement:
    from pointillist.color import measure_skin
    from pointillist.color.skin import box_mask
    from pointillist.imaging.io import load_image

    rgb = load_image(photo).rgb
    if box is not None:
        values = _numbers(box, 4, "--box", "x,y,w,h")
        if any(v != int(v) for v in values):
            raise PointillistError(f"--box takes whole pixels x,y,w,h, got {box!r}")
        mask = box_mask(rgb.shape, [int(v) for v in values])
    else:
        mask = _forehead_mask(rgb)
    corners = None
    if checker is not None:
        flat = _numbers(checker, 8, "--checker", "x1,y1,x2,y2,x3,y3,x4,y4")
        corners = [flat[i : i + 2] for i in range(0, 8, 2)]
    return measure_skin(rgb, mask, checker_corners=corners)


def _forehead_mask(rgb: np.ndarray) -> np.ndarray:
    import cv2
    import numpy as np

    from pointillist.imaging.landmarks import detect_landmarks
    from pointillist.imaging.regions import segment_regions

    keypoints = detect_landmarks(rgb)
    if keypoints is None:
        raise PointillistError(
            "no face found in the photo to measure the forehead; give --box x,y,w,h "
            "around bare skin"
        )
    seed = segment_regions(rgb, keypoints=keypoints).seed_mask.astype(np.uint8)
    height, width = rgb.shape[:2]
    full = cv2.resize(seed, (width, height), interpolation=cv2.INTER_NEAREST)
    return np.asarray(full, dtype=bool)


def _choice_json(choice: Choice) -> dict[str, Any]:
    healed, later = choice.healed, choice.later
    return {
        "shade": healed.shade.id,
        "dilution": healed.shade.dilution,
        "depth_mm": round(healed.depth_mm, 3),
        "predicted_lab": [round(v, 2) for v in healed.lab],
        "delta_e00_to_skin": round(healed.delta_e00_to_skin, 2),
        "blue_shift": round(later.blue_shift_deg, 2),
    }


def pigment_payload(
    skin: SkinMeasurement, rec: Recommendation, pigments: Path | None = None
) -> dict[str, Any]:
    """The JSON contract of ``pointillist pigment --format json``."""
    return {
        "skin": {
            "lab": [round(v, 2) for v in skin.lab],
            "ita_deg": round(skin.ita_deg, 2),
            "category": skin.category,
            "fitzpatrick_estimate": skin.fitzpatrick_estimate,
        },
        "recommendation": _choice_json(rec.best),
        "alternatives": [_choice_json(c) for c in rec.alternatives],
        "preview": _look_json(skin, *_preview_looks(skin, rec, pigments), rec.horizon_years),
    }


def _swatch(lab: tuple[float, float, float]) -> str:
    from pointillist.color.dot import lab_to_srgb8

    r, g, b = lab_to_srgb8(lab)
    return f"[on rgb({r},{g},{b})]    [/]"


def _print_text(skin: SkinMeasurement, rec: Recommendation, pigments: Path | None) -> None:
    from rich import box
    from rich.table import Table

    lab = ", ".join(f"{v:.1f}" for v in skin.lab)
    console.print(
        f"[bold]Skin[/] {_swatch(skin.lab)} L*a*b* {lab}  ITA {skin.ita_deg:.1f} deg "
        f"({skin.category}), Fitzpatrick estimate {skin.fitzpatrick_estimate}"
    )
    console.print(f"[dim]{skin.caveat}[/]")
    best = rec.best.healed
    console.print(
        f"\n[bold]Recommended[/] {best.shade.name} ({best.shade.id}, {best.shade.dilution:g} "
        f"parts diluent) at {best.depth_mm:.2f} mm"
    )
    for line in rec.explanation():
        console.print(f"  {line}")
    look = _look_json(skin, *_preview_looks(skin, rec, pigments), rec.horizon_years)
    console.print(
        f"\n[bold]Preview[/] (pointillist simulate): dots drawn as {_swatch(look['dot_lab'])} "
        f"dark stubble, about {look['apparent_diameter_mm']:.2f} mm across with a soft edge; "
        f"at full density the treated area reads {look['area_drop_l']:.1f} L* darker than "
        f"bare skin (the target for this skin type), {look['area_drop_l_later']:.1f} after "
        f"{rec.horizon_years:g} years. One dot's contrast matters less than the area's: "
        "from conversational distance the dots merge into a shadow."
    )
    years = f"{rec.horizon_years:g}y"
    table = Table(
        title=f"Healed dot now and after {rec.horizon_years:g} years", box=box.SIMPLE_HEAD
    )
    for column in ("", "shade", "depth", "dot", "L* a* b*", "dE00", f"dE00 {years}", "blue"):
        table.add_column(column, no_wrap=True)
    for rank, choice in enumerate((rec.best, *rec.alternatives)):
        h, later = choice.healed, choice.later
        table.add_row(
            "best" if rank == 0 else f"alt {rank}",
            h.shade.id,
            f"{h.depth_mm:.2f} mm",
            _swatch(h.lab),
            " ".join(f"{v:.1f}" for v in h.lab),
            f"{h.delta_e00_to_skin:.1f}",
            f"{later.delta_e00_to_skin:.1f}",
            f"{later.blue_shift_deg:+.1f} deg",
        )
    console.print(table)
    console.print(
        "[dim]Model prediction (layered Kubelka-Munk optics); test a few dots and check "
        "them healed before a full session.[/]"
    )
