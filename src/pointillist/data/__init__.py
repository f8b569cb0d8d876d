"""Data files that hold every practice and policy number, each with its source.

The files ship inside the package (``pointillist/data/*.toml``). A clinic can override
any of them with its own file of the same shape; :func:`load_table` reads either. The
policy files a clinic overrides (plan, zones, aftercare, pricing, pigments, records and
the screening rules) are checked against their models in :mod:`pointillist.data.schemas`:
a mistake ends in one line naming the file, the key and what is allowed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pointillist.errors import PointillistError

# Files whose override is merged key by key over the packaged file (so a clinic writes
# only what it changes); any other override replaces the packaged file whole. The
# screening rules are replaced whole: a clinic's rule set is its own.
MERGED_OVERRIDES = frozenset({"plan", "zones", "aftercare", "pricing", "pigments", "records"})


@cache
def _packaged(name: str) -> dict[str, Any]:
    # The packaged files are checked against their models by the test suite
    # (tests/test_data_tables.py), not here: the check imports pydantic and builds every
    # model, a quarter of a second of CPU that a `pointillist simulate` process would
    # otherwise spend before its first pixel. Overrides are checked on every load.
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


Override = str | Path | Mapping[str, Any] | None
"""A clinic's override of a data file: its path, or its already parsed tables (a clinic's
own file kept in the database, see :func:`parse_toml_text`)."""


def load_table(name: str, override: Override = None) -> dict[str, Any]:
    """Return the parsed data file ``name`` (without ``.toml``), or a clinic's override.

    Parameters
    ----------
    name
        Stem of a packaged data file, e.g. ``"screening_rules"``.
    override
        Path to a clinic's own TOML file of the same shape (read fresh on every call),
        or its parsed tables. For the files in :data:`MERGED_OVERRIDES` it may hold
        only what it changes.

    Raises
    ------
    PointillistError
        If the override cannot be read, is not valid TOML, or (for a policy file) holds
        an unknown key, a wrong type or an impossible value.
    """
    if override is None:
        return _packaged(name)
    if isinstance(override, Mapping):
        table, source = dict(override), f"the clinic's {name}"
    else:
        table, source = read_toml(override), str(override)
    if name in MERGED_OVERRIDES:
        table = merge_tables(_packaged(name), table, source)
    from pointillist.data.schemas import POLICY_MODELS, validate_table

    if name in POLICY_MODELS:
        validate_table(name, table, source)
    return table


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse the TOML file at ``path``, with one-line errors a person can act on."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PointillistError(f"{path}: file not found; give the path of a TOML file") from None
    except IsADirectoryError:
        raise PointillistError(f"{path}: is a folder; give the path of a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PointillistError(f"{path}: cannot read it ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PointillistError(f"{path}: not valid TOML ({exc}); fix the file") from None


def parse_toml_text(text: str, source: str) -> dict[str, Any]:
    """Parse TOML typed by a person (a policy file edited in the web app), with the
    same one-line errors as :func:`read_toml`, naming ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PointillistError(f"{source}: not valid TOML ({exc}); fix the text") from None


def merge_tables(base: Mapping[str, Any], override: Any, source: str) -> dict[str, Any]:
    """``override`` over ``base``: tables merged key by key, anything else replaced.

    A list (e.g. ``[[brand_shades]]``) replaces the packaged list of that name whole.
    """
    if not isinstance(override, Mapping):
        raise PointillistError(f"{source}: must hold TOML tables, e.g. [pricing]")
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_tables(merged[key], value, source)
        else:
            merged[key] = value
    return merged
