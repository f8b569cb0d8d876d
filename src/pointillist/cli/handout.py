"""``pointillist plan --format pdf``: the client handout from the command line.

Nothing is booked at the command line, so the appointments are the planned dates at the
clinic's opening time, and the ink passport holds what ``--ink`` gives (usually nothing
before the first session). Previews come from ``--photo`` (simulated here with default
options and the plan's number of sessions) or ``--preview`` (images already rendered,
e.g. by ``pointillist simulate``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pointillist.errors import PointillistError

if TYPE_CHECKING:
    from pointillist.domain import TreatmentPlan
    from pointillist.reports.handout import InkRecord, Paper, PreviewImage


def check_handout_options(
    out: Path | None, *, clinic_name: str | None, photo: Path | None, previews: Sequence[Path]
) -> None:
    """Refuse what would fail only after the plan and the simulation ran."""
    if out is None:
        raise PointillistError("--format pdf writes a file: give one with -o plan.pdf")
    if out.is_dir():
        raise PointillistError(f"{out} is a folder: give a file name, e.g. -o {out / 'plan.pdf'}")
    if not out.parent.exists():
        raise PointillistError(f"cannot write {out}: folder {out.parent} does not exist")
    if not out.parent.is_dir():
        raise PointillistError(f"cannot write {out}: {out.parent} is a file, not a folder")
    if not clinic_name or not clinic_name.strip():
        raise PointillistError(
            'the handout names the clinic at the top: give --clinic-name "Your Clinic"'
        )
    for path in [*([photo] if photo else []), *previews]:
        if not path.is_file():
            raise PointillistError(f"image {path} not found")


def parse_ink(text: str) -> InkRecord:
    """``"2027-01-11, Brand, Shade, LOT123, 2028-06-30"`` as an ink passport line."""
    from pointillist.reports.handout import InkRecord

    parts = [part.strip() for part in text.split(",")]
    example = '"2027-01-11, Perma Blend, Midnight 1:4, PB2401, 2028-06-30"'
    if len(parts) != 5 or not all(parts):
        raise PointillistError(
            f"--ink {text!r}: give session date, brand, shade, lot and use-by date, "
            f"comma-separated, e.g. {example}"
        )
    dates = []
    for value, what in ((parts[0], "session date"), (parts[4], "use-by date")):
        try:
            dates.append(dt.date.fromisoformat(value))
        except ValueError:
            raise PointillistError(
                f"--ink {text!r}: the {what} {value!r} is not YYYY-MM-DD, e.g. {example}"
            ) from None
    if dates[1] < dates[0]:
        raise PointillistError(
            f"--ink {text!r}: this bottle expired before the session; "
            "an expired pigment cannot be recorded"
        )
    return InkRecord(dates[0], parts[1], parts[2], parts[3], dates[1])


def write_handout(
    plan: TreatmentPlan,
    out: Path,
    *,
    paper: Paper,
    clinic_file: Path | None,
    clinic_name: str,
    licence_number: str | None,
    licence_authority: str | None,
    photo: Path | None,
    previews: Sequence[Path],
    ink: Sequence[str],
) -> None:
    """Render the handout of ``plan`` and write it to ``out``."""
    from pointillist.domain import load_policy
    from pointillist.domain.appointments import clinic_hours
    from pointillist.reports.handout import ClinicDetails, handout_from_plan, handout_pdf

    records = [parse_ink(text) for text in ink]
    images = [_preview_file(path) for path in previews]
    if photo is not None:
        images.insert(0, _simulated_preview(photo, plan))
    hours = clinic_hours(load_policy(clinic_file=clinic_file).plan["calendar"])
    handout = handout_from_plan(
        plan,
        clinic=ClinicDetails(
            clinic_name.strip(), licence_number or None, licence_authority or None
        ),
        opening_time=hours.opening_time,
        ink=records,
        previews=images,
    )
    data = handout_pdf(handout, paper=paper)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise PointillistError(f"cannot write {out}: {exc.strerror}") from None


def _preview_file(path: Path) -> PreviewImage:
    """An image already rendered, checked and re-encoded (no metadata goes in the PDF)."""
    from pointillist.imaging.io import encode_jpeg, load_image
    from pointillist.reports.handout import PreviewImage

    loaded = load_image(path)
    return PreviewImage(f"Preview: {path.name}", encode_jpeg(loaded.rgb))


def _simulated_preview(photo: Path, plan: TreatmentPlan) -> PreviewImage:
    from pointillist.imaging.io import encode_jpeg
    from pointillist.imaging.simulate import simulate
    from pointillist.reports.handout import PreviewImage

    sessions = len(plan.sessions) or None
    sim = simulate(photo, sessions=sessions)
    assert sim.before_after is not None
    done = len(sim.session_images)
    return PreviewImage(
        f"Before, and after {done} sessions (simulated on your photo)",
        encode_jpeg(sim.before_after),
    )
