"""The Typer application every command module registers on."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer import _click
from typer.core import TyperArgument, TyperGroup

# The order a clinic meets the commands in: consultation, preview, pigment, then the
# records server and its upkeep. Commands not named here follow, in registration order.
COMMAND_ORDER = ("screen", "plan", "simulate", "pigment", "serve", "admin", "backup", "restore")


class ClinicOrderGroup(TyperGroup):
    """Lists the commands in :data:`COMMAND_ORDER` in ``--help``."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        names = super().list_commands(ctx)
        known = [name for name in COMMAND_ORDER if name in names]
        return known + [name for name in names if name not in COMMAND_ORDER]


app = typer.Typer(
    name="pointillist",
    cls=ClinicOrderGroup,
    help="Consultation, planning and simulation for scalp micropigmentation (SMP).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"pointillist {version('pointillist')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Consultation, planning and simulation for scalp micropigmentation (SMP)."""


# Help shows what to type in words (FILE, DATE, CM), not Python types (<str>, <list[str]>).
# Named by the option's own name first, then by its type.
_NAMED_METAVARS = (
    (("pattern",), "PATTERN"),
    (("fitzpatrick",), "TYPE"),
    (("ita",), "DEGREES"),
    (("condition",), "CONDITION"),
    (("sex",), "SEX"),
    (("age",), "YEARS"),
    (("experience",), "LEVEL"),
    (("clinic_tier",), "TIER"),
    (("role",), "ROLE"),
    (("email",), "ADDRESS"),
    (("password",), "PASSWORD"),
    (("name", "licence_authority"), "NAME"),
    (("licence_number",), "NUMBER"),
    (("database_url",), "URL"),
    (("host",), "ADDRESS"),
    (("port",), "PORT"),
    (("box",), "X,Y,W,H"),
    (("checker",), "X1,Y1,...,X4,Y4"),
    (("lab", "hair_lab"), "L A B"),
    (("hairline_shape",), "SHAPE"),
    (("seed",), "NUMBER"),
    (("clinic",), "ID"),
)
_SUFFIX_METAVARS = (
    ("date", "DATE"),
    ("expires", "DATE"),
    ("start", "DATE"),
    ("_cm2", "CM2"),
    ("_cm", "CM"),
    ("_mm", "MM"),
    ("_per_px", "MM"),
    ("_days", "DAYS"),
    ("years", "YEARS"),
    ("count", "N"),
    ("sessions", "N"),
)


class _WordArgument(TyperArgument):
    """An argument whose help shows only its metavar in words (``PATH``, not ``PATH <path>``)."""

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        return None


def word_metavars(command: Any) -> None:
    """Give every option and argument of ``command`` (and its subcommands) a metavar in
    words, unless it has its own, lists choices, or is a flag."""
    for param in command.params:
        kind = param.type_descriptor
        if param.metavar is not None or kind.is_choice or getattr(param, "is_flag", False):
            continue
        param.metavar = _metavar_for(param.name or "", kind)
        if isinstance(param, TyperArgument):
            param.__class__ = _WordArgument
    for sub in getattr(command, "commands", {}).values():
        word_metavars(sub)


def _metavar_for(name: str, kind: Any) -> str:
    if kind.is_path:
        return {"outdir": "FOLDER", "photo": "PHOTO"}.get(name, "FILE")
    for names, word in _NAMED_METAVARS:
        if name in names:
            return word
    for suffix, word in _SUFFIX_METAVARS:
        if name.endswith(suffix):
            return word
    annotation = kind.annotation
    return {int: "N", float: "NUMBER", str: "TEXT"}.get(annotation, "VALUE")
