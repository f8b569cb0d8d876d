"""What every command shares: output formats, JSON printing, the rich console, the
``--database-url`` option."""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


#: ``--database-url``, as every command that opens the database declares it. Left out, the
#: settings fall back to ``POINTILLIST_DATABASE_URL``, else SQLite in the data directory.
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="postgresql://user@host/db or sqlite:///file; "
        "default: $POINTILLIST_DATABASE_URL, else SQLite in the data directory.",
    ),
]


class OutputFormat(StrEnum):
    """Formats every result-producing command accepts with ``--format``."""

    text = "text"
    json = "json"


def print_json(payload: Any) -> None:
    """Write ``payload`` as indented JSON on stdout, plain (no rich markup or wrapping)."""
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()


def shown_database_url(url: str) -> str:
    """``url`` as it may be printed: the password hidden."""
    from pointillist.store.db import parse_database_url

    return parse_database_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Pause Python's cycle collector for one command's work, such as a preview.

    A preview makes almost no reference cycles (about a thousand objects), but it
    imports MediaPipe, OpenCV and numba, whose hundreds of thousands of objects every
    full collection walks again: a tenth of a second or more of pauses that hold the
    GIL, and with it every thread. Afterwards the objects it left are moved to the
    oldest generation (:func:`gc.freeze` then :func:`gc.unfreeze`) before collection
    resumes, so that the first collection does not walk them all at once.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()
