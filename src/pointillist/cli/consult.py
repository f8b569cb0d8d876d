"""Consultation commands: ``screen``, ``plan`` and ``demo``.

The client comes from options or from a JSON/TOML file (``--client``); options given on
the command line win over the file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pointillist.cli._common import OutputFormat, console, err_console, print_json
from pointillist.cli.app import app
from pointillist.errors import PointillistError

if TYPE_CHECKING:
    from pointillist.domain import TreatmentPlan

# Keys of a client file that belong to the plan request rather than to the client.
_REQUEST_KEYS = ("start", "sessions", "interval_days", "experience", "clinic_tier")


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    ics = "ics"
    png = "png"
    pdf = "pdf"


class PaperSize(StrEnum):
    a4 = "a4"
    letter = "letter"


ClientFile = Annotated[
    Path | None, typer.Option("--client", help="Client answers as a JSON or TOML file.")
]
Pattern = Annotated[
    str | None,
    typer.Option(
        help="Hair-loss pattern: norwood-1..7, norwood-3v, norwood-2a..5a, "
        "ludwig-1..3, alopecia-areata, diffuse-thinning, scar, chemotherapy."
    ),
]
Fitzpatrick = Annotated[str | None, typer.Option(help="Fitzpatrick skin type, 1-6 or I-VI.")]
Ita = Annotated[float | None, typer.Option("--ita", help="Measured ITA in degrees.")]
Condition = Annotated[
    list[str] | None,
    typer.Option("--condition", help="A condition code (repeat for several), e.g. active-acne."),
]
Sex = Annotated[str | None, typer.Option(help="male, female or other.")]
Age = Annotated[int | None, typer.Option(help="Age in years.")]
Circumference = Annotated[
    float | None,
    typer.Option("--head-circumference-cm", help="Head circumference in cm (default by sex)."),
]
PatchCount = Annotated[int | None, typer.Option(help="Alopecia areata: number of patches.")]
LargestPatch = Annotated[
    float | None, typer.Option("--largest-patch-cm2", help="Alopecia areata: largest patch, cm².")
]
ScarLength = Annotated[float | None, typer.Option("--scar-length-cm", help="Scar length, cm.")]
ScarArea = Annotated[float | None, typer.Option("--scar-area-cm2", help="Scar area, cm².")]
Rules = Annotated[
    Path | None, typer.Option("--rules", help="The clinic's own screening rules (TOML).")
]
Clinic = Annotated[
    Path | None,
    typer.Option(
        "--clinic",
        help="Clinic policy file (TOML) overriding [plan], [zones], [aftercare], [pricing].",
    ),
]
ConsultationDate = Annotated[
    str | None,
    typer.Option(
        "--consultation-date", help="Date of the consultation, YYYY-MM-DD (default today)."
    ),
]
Start = Annotated[str | None, typer.Option(help="First session no earlier than, YYYY-MM-DD.")]
Sessions = Annotated[int | None, typer.Option(help="Number of sessions, 3-5 (default 4).")]
Interval = Annotated[
    int | None, typer.Option("--interval-days", help="Days between sessions (default 14, min 7).")
]
Experience = Annotated[
    str | None, typer.Option(help="Practitioner experience: junior, standard or senior.")
]
ClinicTier = Annotated[str | None, typer.Option("--clinic-tier", help="standard or premium.")]


def _client_answers(
    client_file: Path | None, options: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Merge the client file and the options; split client answers from plan options."""
    answers: dict[str, Any] = read_client_file(client_file) if client_file else {}
    answers = {key.replace("-", "_"): value for key, value in answers.items()}
    answers.update({key: value for key, value in options.items() if value not in (None, [])})
    request = {key: answers.pop(key) for key in _REQUEST_KEYS if key in answers}
    return answers, request


def read_client_file(path: Path) -> dict[str, Any]:
    """Client answers from a JSON or TOML file (chosen by extension, else by content)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PointillistError(f"client file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PointillistError(f"cannot read client file {path}: {exc}") from None
    as_toml = path.suffix.lower() == ".toml" or (
        path.suffix.lower() != ".json" and not text.lstrip().startswith("{")
    )
    try:
        data = tomllib.loads(text) if as_toml else json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PointillistError(f"client file {path} is not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise PointillistError(
            f"client file {path} is not valid JSON: {exc.msg} "
            f"at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise PointillistError(
            f'client file {path} must hold an object of answers, e.g. {{"pattern": "norwood-5"}}'
        )
    return data


def _parse_date(value: Any, option: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PointillistError(
            f"{option} {value!r} is not a valid date; use YYYY-MM-DD, e.g. 2027-03-15"
        ) from None


def _int_option(request: dict[str, Any], key: str) -> int | None:
    value = request.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise PointillistError(f"{key} must be a whole number, not {value!r}")


def build_plan(
    *,
    client_file: Path | None,
    options: dict[str, Any],
    rules: Path | None,
    clinic: Path | None,
    consultation_date: str | None,
) -> TreatmentPlan:
    """Read the client and the options, and run the consultation."""
    answers, request = _client_answers(client_file, options)
    # The domain loads its policy schemas on import: only the commands that use it pay.
    from pointillist.domain import PlanRequest, client_from_mapping, consult, load_policy

    client = client_from_mapping(answers)
    policy = load_policy(clinic_file=clinic, rules_file=rules)
    plan_request = PlanRequest(
        consultation_date=_parse_date(consultation_date, "--consultation-date") or dt.date.today(),
        start=_parse_date(request.get("start"), "--start"),
        sessions=_int_option(request, "sessions"),
        interval_days=_int_option(request, "interval_days"),
        experience=str(request.get("experience", "standard")),
        clinic_tier=str(request.get("clinic_tier", "standard")),
    )
    return consult(client, plan_request, policy)


@app.command()
def screen(
    client_file: ClientFile = None,
    pattern: Pattern = None,
    fitzpatrick: Fitzpatrick = None,
    ita: Ita = None,
    condition: Condition = None,
    sex: Sex = None,
    age: Age = None,
    head_circumference_cm: Circumference = None,
    rules: Rules = None,
    consultation_date: ConsultationDate = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="text or json.")
    ] = OutputFormat.text,
) -> None:
    """Screen a client: proceed, caution, refer, defer or decline, with the reasons."""
    plan = build_plan(
        client_file=client_file,
        options={
            "pattern": pattern,
            "fitzpatrick": fitzpatrick,
            "ita_deg": ita,
            "conditions": condition,
            "sex": sex,
            "age": age,
            "head_circumference_cm": head_circumference_cm,
        },
        rules=rules,
        clinic=None,
        consultation_date=consultation_date,
    )
    from pointillist.reports.plan_json import plan_to_dict, screening_to_dict

    if output is OutputFormat.json:
        full = plan_to_dict(plan)
        print_json({"client": full["client"], "screening": screening_to_dict(plan.screening)})
    else:
        from pointillist.cli.render_plan import print_screening

        print_screening(console, plan)


@app.command()
def plan(
    client_file: ClientFile = None,
    pattern: Pattern = None,
    fitzpatrick: Fitzpatrick = None,
    ita: Ita = None,
    condition: Condition = None,
    sex: Sex = None,
    age: Age = None,
    head_circumference_cm: Circumference = None,
    patch_count: PatchCount = None,
    largest_patch_cm2: LargestPatch = None,
    scar_length_cm: ScarLength = None,
    scar_area_cm2: ScarArea = None,
    start: Start = None,
    sessions: Sessions = None,
    interval_days: Interval = None,
    experience: Experience = None,
    clinic_tier: ClinicTier = None,
    rules: Rules = None,
    clinic: Clinic = None,
    consultation_date: ConsultationDate = None,
    output: Annotated[
        PlanFormat,
        typer.Option(
            "--format",
            help="text, json, ics, png (a timeline) or pdf (the client handout); "
            "png and pdf need -o.",
        ),
    ] = PlanFormat.text,
    out: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file instead of stdout.")
    ] = None,
    paper: Annotated[
        PaperSize, typer.Option(help="Handout paper (--format pdf): a4 or letter.")
    ] = PaperSize.a4,
    clinic_name: Annotated[
        str | None,
        typer.Option(
            "--clinic-name", metavar="NAME", help="Handout: the clinic's name at the top."
        ),
    ] = None,
    licence_number: Annotated[
        str | None,
        typer.Option("--licence-number", metavar="TEXT", help="Handout: the clinic's licence."),
    ] = None,
    licence_authority: Annotated[
        str | None,
        typer.Option("--licence-authority", help="Handout: who issued the clinic's licence."),
    ] = None,
    photo: Annotated[
        Path | None,
        typer.Option(
            "--photo",
            help="Handout: simulate the course on this photo of the client (default options) "
            "and print the before/after.",
        ),
    ] = None,
    preview: Annotated[
        list[Path] | None,
        typer.Option(
            "--preview",
            metavar="IMAGE",
            help="Handout: an image already rendered, e.g. before_after.jpg of "
            "`pointillist simulate` (repeat for several).",
        ),
    ] = None,
    ink: Annotated[
        list[str] | None,
        typer.Option(
            "--ink",
            metavar="DATE,BRAND,SHADE,LOT,USE-BY",
            help="Handout: a pigment used in a session (session date, brand, shade, lot, "
            'use-by date), e.g. "2027-01-11, Perma Blend, Midnight 1:4, PB2401, 2028-06-30"; '
            "repeat for each bottle.",
        ),
    ] = None,
) -> None:
    """Plan a course: screening, treatment area, dated sessions, aftercare, quote, touch-up."""
    handout_options = {
        "--clinic-name": clinic_name,
        "--licence-number": licence_number,
        "--licence-authority": licence_authority,
        "--photo": photo,
        "--preview": preview,
        "--ink": ink,
    }
    if output is PlanFormat.pdf:
        from pointillist.cli.handout import check_handout_options

        check_handout_options(out, clinic_name=clinic_name, photo=photo, previews=preview or [])
    else:
        given = [name for name, value in handout_options.items() if value not in (None, [])]
        if given:
            raise PointillistError(f"{given[0]} goes on the handout: add --format pdf -o plan.pdf")
    result = build_plan(
        client_file=client_file,
        options={
            "pattern": pattern,
            "fitzpatrick": fitzpatrick,
            "ita_deg": ita,
            "conditions": condition,
            "sex": sex,
            "age": age,
            "head_circumference_cm": head_circumference_cm,
            "patch_count": patch_count,
            "largest_patch_cm2": largest_patch_cm2,
            "scar_length_cm": scar_length_cm,
            "scar_area_cm2": scar_area_cm2,
            "start": start,
            "sessions": sessions,
            "interval_days": interval_days,
            "experience": experience,
            "clinic_tier": clinic_tier,
        },
        rules=rules,
        clinic=clinic,
        consultation_date=consultation_date,
    )
    if output is PlanFormat.pdf:
        from pointillist.cli.handout import write_handout

        assert out is not None and clinic_name is not None
        write_handout(
            result,
            out,
            paper=paper.value,
            clinic_file=clinic,
            clinic_name=clinic_name,
            licence_number=licence_number,
            licence_authority=licence_authority,
            photo=photo,
            previews=preview or [],
            ink=ink or [],
        )
        return
    _emit(result, output, out)


@app.command()
def demo(
    consultation_date: ConsultationDate = None,
    out: Annotated[
        Path,
        typer.Option("-o", "--output", metavar="FOLDER", help="Folder for the simulated previews."),
    ] = Path("out/demo"),
    simulation: Annotated[
        bool, typer.Option(help="Also simulate previews on the bundled sample photos.")
    ] = True,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="text or json.")
    ] = OutputFormat.text,
) -> None:
    """A sample client end to end: consultation, plan, quote, and simulated previews."""
    sample = resources.files("pointillist.data").joinpath("sample_client.toml")
    with resources.as_file(sample) as path:
        result = build_plan(
            client_file=path,
            options={},
            rules=None,
            clinic=None,
            consultation_date=consultation_date,
        )
    previews = _demo_previews(out) if simulation else []
    if output is OutputFormat.json:
        from pointillist.reports.plan_json import plan_to_dict

        print_json({**plan_to_dict(result), "previews": [str(p) for p in previews]})
        return
    _emit(result, PlanFormat.text, None)
    if previews:
        console.print("Simulated previews (session_1..4.jpg, before_after.jpg, overlay.png):")
        for folder in previews:
            console.print(f"  {folder}")


def _demo_previews(out: Path) -> list[Path]:
    """Run the bundled simulations into ``out`` with a progress bar; their folders."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from pointillist.imaging.simulate import DEMO_SUBJECTS, STAGES, demo_simulation

    per_run = len(STAGES) + 1
    finished = 0
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("simulating", total=per_run * len(DEMO_SUBJECTS))

        def progress(stage: str, index: int, _total: int) -> None:
            nonlocal finished
            if stage == "done":
                finished += 1
                bar.update(task, completed=finished * per_run)
                return
            subject = DEMO_SUBJECTS[min(finished, len(DEMO_SUBJECTS) - 1)]
            bar.update(
                task, completed=finished * per_run + index, description=f"{subject}: {stage}"
            )

        try:
            demo_simulation(out, progress=progress)
        except OSError as exc:
            raise PointillistError(f"cannot write the previews to {out}: {exc.strerror}") from None
    return [out, *(out / name for name in DEMO_SUBJECTS[1:])]


def _emit(result: TreatmentPlan, output: PlanFormat, out: Path | None) -> None:
    if output is PlanFormat.png:
        if out is None:
            raise PointillistError("--format png writes a picture: give a file with -o plan.png")
        from pointillist.reports.timeline import plan_timeline_png

        _write(out, plan_timeline_png(result))
        return
    if output is PlanFormat.ics:
        from pointillist.reports.ics import plan_to_ics

        data = plan_to_ics(result)
        if out is None:
            typer.echo(data.decode(), nl=False)
        else:
            _write(out, data)
        return
    if output is PlanFormat.json:
        from pointillist.reports.plan_json import plan_to_dict

        if out is None:
            print_json(plan_to_dict(result))
        else:
            _write(out, (json.dumps(plan_to_dict(result), indent=2) + "\n").encode())
        return
    from pointillist.cli.render_plan import print_plan

    if out is None:
        print_plan(console, result)
    else:
        from rich.console import Console

        recorder = Console(record=True, width=100, file=io.StringIO())
        print_plan(recorder, result)
        _write(out, recorder.export_text().encode())


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise PointillistError(f"cannot write {path}: {exc.strerror}") from None
