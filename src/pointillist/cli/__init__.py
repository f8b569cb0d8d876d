"""The ``pointillist`` command line: thin commands that parse, call and print.

Errors a user can cause end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from pointillist.cli.app import app
from pointillist.errors import PointillistError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and exit with) its exit code."""
    code = _run(argv)
    if argv is None:
        sys.exit(code)
    return code


def _run(argv: list[str] | None) -> int:
    try:
        result = app(args=argv, prog_name="pointillist", standalone_mode=False)
    except PointillistError as exc:
        _fail(str(exc))
        return 2
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    except click.UsageError as exc:
        hint = (
            f" (see 'pointillist {exc.ctx.command_path.partition(' ')[2]} --help')".replace(
                "  --help", " --help"
            )
            if exc.ctx
            else ""
        )
        _fail(exc.format_message() + hint)
        return 2
    except click.ClickException as exc:
        _fail(exc.format_message())
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        _fail("aborted")
        return 130
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    return result if isinstance(result, int) else 0


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


# Command modules register themselves on `app` when imported: one import line per module.
# They keep heavy imports (OpenCV, MediaPipe, numba, SQLAlchemy, FastAPI) inside their
# command functions, so that `pointillist screen` starts fast.
from pointillist.cli import consult  # noqa: E402, F401
