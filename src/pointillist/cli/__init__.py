"""The ``pointillist`` command line: thin commands that parse, call and print.

Errors a user can cause end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import Abort, Exit, TyperException

from pointillist.cli.app import app, word_metavars
from pointillist.errors import PointillistError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and exit with) its exit code."""
    code = _run(argv)
    if argv is None:
        sys.exit(code)
    return code


def _run(argv: list[str] | None) -> int:
    command = typer.main.get_command(app)
    word_metavars(command)
    try:
        result = command.main(args=argv, prog_name="pointillist", standalone_mode=False)
    except PointillistError as exc:
        _fail(str(exc))
        return 2
    except TyperException as exc:
        # Typer's own usage errors (unknown option, bad integer, bad choice): one line too.
        ctx = getattr(exc, "ctx", None)
        message = exc.format_message()
        if ctx is not None and message == ctx.get_help():
            print(message)  # a bare command with no arguments: show its help
            return 0
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(message + hint)
        return 2
    except Exit as exc:
        return exc.exit_code
    except (Abort, KeyboardInterrupt):
        _fail("interrupted")
        return 130
    return result if isinstance(result, int) else 0


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


# Command modules register themselves on `app` when imported. They keep heavy imports
# (OpenCV, MediaPipe, numba, SQLAlchemy, FastAPI) inside their command functions, so that
# `pointillist screen` starts fast.
from pointillist.cli import (  # noqa: E402, F401
    admin,
    consult,
    demo_clinic,
    pigment,
    serve,
    simulate,
    worker,
)
