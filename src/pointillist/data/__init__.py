"""Data files that hold every practice and policy number, each with its source.

The files ship inside the package (``pointillist/data/*.toml``). A clinic can override
any of them with its own file of the same shape; :func:`load_table` reads either.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pointillist.errors import PointillistError


@cache
def _packaged(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_table(name: str, override: str | Path | None = None) -> dict[str, Any]:
    """Return the parsed data file ``name`` (without ``.toml``), or a clinic's override.

    Parameters
    ----------
    name
        Stem of a packaged data file, e.g. ``"screening_rules"``.
    override
        Path to a clinic's own TOML file of the same shape. Read fresh on every call.

    Raises
    ------
    PointillistError
        If the override cannot be read or is not valid TOML.
    """
    if override is None:
        return _packaged(name)
    path = Path(override)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PointillistError(f"{path}: file not found; give the path of a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PointillistError(f"{path}: cannot read it ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PointillistError(f"{path}: not valid TOML ({exc}); fix the file") from None
