"""The ``pointillist`` command line: thin commands that parse, call and print.

Errors a user can cause end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import gc
import sys

import typer
from typer.exceptions import Abort, Exit, TyperException

from pointillist.cli.app import app, word_metavars
from pointillist.errors import PointillistError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and exit with) its exit code."""
    try:
        code = _run(argv)
    except BaseException:
        _settle_stderr()  # for the traceback of a bug
        raise
    if argv is None:
        # The process ends here. Python's last garbage collection at exit would walk
        # every object the imports left (MediaPipe, numba, pydantic: over 100,000), most
        # of half a second on a small machine, only to free memory the system takes back
        # anyway. Frozen objects are left out of it; reference counting still closes
        # files and flushes streams as usual.
        gc.freeze()
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
    _settle_stderr()
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def _settle_stderr() -> None:
    """Wait until no thread has stderr silenced: ``simulate`` creates the face landmarker
    on a thread while the photo loads, and MediaPipe's C++ logging is silenced then
    (:mod:`pointillist.imaging.landmarks`), which would swallow an error message."""
    # Looked up, not imported: a process that never loaded MediaPipe has nothing to wait
    # for (nor does one whose thread is still importing the module).
    wait = getattr(sys.modules.get("pointillist.imaging.landmarks"), "wait_for_stderr", None)
    if wait is not None:
        wait()


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
