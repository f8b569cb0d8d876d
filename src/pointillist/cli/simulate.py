"""``pointillist simulate``: previews of an SMP course on the client's own photo."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from pointillist.cli._common import (
    OutputFormat,
    collection_paused,
    console,
    err_console,
    print_json,
)
from pointillist.cli.app import app
from pointillist.errors import PointillistError


class View(StrEnum):
    """What the photo shows: ``auto`` looks for faces; a top or back view has none."""

    auto = "auto"
    top = "top"
    back = "back"


_STAGE_TEXT = {
    "load": "loading the photo",
    "landmarks": "finding the face",
    "regions": "finding scalp, hair and background",
    "head": "fitting the head",
    "hairline": "designing the hairline",
    "treatment": "mapping the treatment area",
    "skin": "measuring the skin colour",
    "impressions": "placing the impressions",
    "render": "rendering the sessions",
    "compose": "composing before/after and overlay",
    "write": "writing the images",
}


@app.command("simulate")
def simulate_command(
    photo: Annotated[Path, typer.Argument(help="Photo of the head: JPEG, PNG, WebP or HEIC.")],
    outdir: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the images and simulation.json.")
    ],
    sessions: Annotated[
        int | None, typer.Option(help="Number of sessions, 3-5 (default 4).")
    ] = None,
    hairline_height_cm: Annotated[
        float | None,
        typer.Option(
            "--hairline-height-cm", help="Mid-frontal point above the glabella, cm (default 8)."
        ),
    ] = None,
    hairline_shape: Annotated[
        str | None,
        typer.Option(
            "--hairline-shape", help="rounded, straight or natural (default from hairline.toml)."
        ),
    ] = None,
    transition_band_mm: Annotated[
        float | None,
        typer.Option(
            "--transition-band-mm", help="Depth over which density ramps up, mm (default 15)."
        ),
    ] = None,
    hairline: Annotated[
        Path | None,
        typer.Option(
            help="A hairline drawn by the practitioner: JSON list of [x, y] pixels, "
            "left to right, scalp above it (instead of the designed one)."
        ),
    ] = None,
    mm_per_px: Annotated[
        float | None,
        typer.Option("--mm-per-px", help="Photo scale in mm per pixel (instead of the iris)."),
    ] = None,
    head_width_mm: Annotated[
        float | None,
        typer.Option(
            "--head-width-mm", help="Head breadth above the ears in mm, to get the scale."
        ),
    ] = None,
    mask: Annotated[
        Path | None,
        typer.Option(help="Treatment area as a PNG of the photo's size (white = treat)."),
    ] = None,
    landmarks: Annotated[
        Path | None,
        typer.Option(help="Face landmarks as JSON, instead of detecting the face."),
    ] = None,
    view: Annotated[
        View,
        typer.Option(
            help="auto (find the face), or top / back for a photo of the head from above "
            "or behind, which has no face."
        ),
    ] = View.auto,
    face: Annotated[
        int | None,
        typer.Option(
            help="Which face is the client's when the photo has several: 1 is the largest "
            "(the default), 2 the next... (the overlay numbers them)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same images.")] = 0,
    years: Annotated[
        float, typer.Option(help="Show the healed look this many years on (fading).")
    ] = 0.0,
    shade: Annotated[
        str | None,
        typer.Option(
            help="Pigment shade to draw the dots in, by catalogue id (e.g. cb-1:3); default: "
            "the one recommended for the skin (`pointillist pigment` lists them)."
        ),
    ] = None,
    pigments: Annotated[
        Path | None,
        typer.Option(help="The clinic's own pigment catalogue (pigments.toml) for --shade."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text or json (the simulation.json).")
    ] = OutputFormat.text,
) -> None:
    """Simulate an SMP course on a photo: one preview per session, before/after, overlay."""
    from pointillist.imaging.warmup import preload_models

    if photo.is_file():
        # The face landmarker is created (and OpenCV set up) on a thread of its own
        # while the pipeline is imported and the photo decoded; it is needed when
        # simulate.detects_faces says so.
        preload_models(
            landmarker=view is View.auto
            and landmarks is None
            and (mask is None or mm_per_px is None)
        )
    with collection_paused():
        _simulate(
            photo,
            outdir,
            output_format,
            sessions=sessions,
            hairline_height_cm=hairline_height_cm,
            hairline_shape=hairline_shape,
            transition_band_mm=transition_band_mm,
            hairline_points=None if hairline is None else read_hairline_points(hairline),
            mm_per_px=mm_per_px,
            head_width_mm=head_width_mm,
            mask=mask,
            landmarks=landmarks,
            face=face,
            detect_face=view is View.auto,
            seed=seed,
            years=years,
            shade=shade,
            pigments=pigments,
        )


def _simulate(photo: Path, outdir: Path, output_format: OutputFormat, **options: Any) -> None:
    from pointillist.imaging.simulate import STAGES, simulate

    if not err_console.is_terminal:
        # No bar to draw (stderr is a file or a pipe): rich's progress module, a few
        # hundredths of a second to import, is left alone.
        payload = simulate(photo, compose_on_write=True, **options).write(outdir)
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        total = len(STAGES) + 1
        with Progress(
            TextColumn("{task.description:<38}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task(_STAGE_TEXT["load"], total=total)

            def progress(stage: str, index: int, _total: int) -> None:
                bar.update(task, completed=index, description=_STAGE_TEXT.get(stage, stage))

            result = simulate(photo, progress=progress, compose_on_write=True, **options)
            bar.update(task, completed=len(STAGES), description=_STAGE_TEXT["write"])
            payload = result.write(outdir)
            bar.update(task, completed=total)
    if output_format is OutputFormat.json:
        print_json(payload)
    else:
        _print_text(payload, outdir)


def read_hairline_points(path: Path) -> Any:
    """The practitioner's hairline from a JSON file: ``[[x, y], ...]`` in pixels."""
    import json

    import numpy as np

    try:
        points = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PointillistError(f"hairline file {path} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PointillistError(f"hairline file {path} is not readable JSON: {exc}") from None
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.empty((0,))
    if array.ndim != 2 or array.shape[1:] != (2,) or len(array) < 2:
        raise PointillistError(
            f"hairline file {path} must hold a list of at least two [x, y] points in pixels"
        )
    return array


def _print_text(payload: dict[str, Any], outdir: Path) -> None:
    from rich.table import Table

    console.print(
        f"scale {payload['scale_mm_per_px']:.4f} mm/px ({payload['scale_source']}: "
        f"{payload['scale_detail']}); face landmarks "
        f"{'found' if payload['landmarks_found'] else 'not found'}"
    )
    console.print(
        f"treatment area {payload['treatment_area_cm2']:.1f} cm² on the scalp, "
        f"final density {payload['final_density_per_cm2']:.0f} impressions/cm²"
    )
    skin = payload.get("skin")
    if skin:
        console.print(
            f"skin L*a*b* {skin['lab']}, ITA {skin['ita_deg']} deg ({skin['category']}, "
            f"Fitzpatrick estimate {skin['fitzpatrick_estimate']}); dot/skin ratio RGB "
            f"{payload['dot_ratio_rgb']}"
        )
    table = Table(title=None, show_edge=False)
    table.add_column("session", justify="right")
    table.add_column("impressions (cumulative)", justify="right")
    table.add_column("image")
    for s in payload["sessions"]:
        table.add_row(str(s["number"]), f"{s['impressions']:,}", s["image"])
    console.print(table)
    console.print(
        f"before/after {payload['before_after']}, overlay {payload['overlay']} and "
        f"simulation.json in {outdir}"
    )
    timings = ", ".join(f"{k} {v:.0f}" for k, v in payload["timings_ms"].items())
    console.print(f"timings (ms): {timings}")
    for warning in payload.get("warnings", []):
        err_console.print(f"warning: {warning}")
