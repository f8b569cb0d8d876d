"""What every command shares: output formats, JSON printing, the rich console."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    """Formats every result-producing command accepts with ``--format``."""

    text = "text"
    json = "json"


def print_json(payload: Any) -> None:
    """Write ``payload`` as indented JSON on stdout, plain (no rich markup or wrapping)."""
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()
