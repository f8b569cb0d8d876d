"""What the resource routers share: base models and the documented 404."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from pointillist.data import load_table

#: Record ids are 32-bit INTEGER columns on PostgreSQL: a larger number names no record and
#: must be refused (422) before it reaches the database, which would fail on it.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="Record id.")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Out(BaseModel):
    """Base of every response model: built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


@cache
def date_window() -> tuple[date, int]:
    """The earliest date accepted and how many years ahead (``[dates]`` in records.toml)."""
    table = load_table("records")["dates"]
    return table["earliest"], int(table["latest_years_ahead"])


def check_date(value: date, *, not_after_today: bool = False) -> date:
    """``value`` if it falls in the window of records.toml ``[dates]``; else ValueError."""
    earliest, years_ahead = date_window()
    today = date.today()
    day = value.date() if isinstance(value, datetime) else value
    latest = today if not_after_today else today + timedelta(days=round(365.25 * years_ahead))
    if not earliest <= day <= latest:
        raise ValueError(f"must be between {earliest.isoformat()} and {latest.isoformat()}")
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-12-01T10:30:00+01:00 or ...Z")
    return value


def _is_date_field(model: type[BaseModel], name: str | None) -> bool:
    field = model.model_fields.get(name or "")
    return field is not None and ("date" in repr(field.annotation))


class In(BaseModel):
    """Base of every request model: unknown fields are refused, not silently dropped;
    text with a NUL character (which PostgreSQL cannot store) or a lone surrogate (which
    no database can encode) is refused by field; dates must be written as dates and fall
    in the window of records.toml ``[dates]``."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic would read 0 as 1970-01-01 (a Unix time): a date is written as a date.
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and _is_date_field(cls, info.field_name):
            raise ValueError("write the date as YYYY-MM-DD (or ISO 8601 with a time)")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _checked(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("text must not contain NUL (\\x00) characters")
        if _has_surrogate(value):
            raise ValueError("text must be valid Unicode (it holds a lone surrogate)")
        if isinstance(value, date):
            return check_date(value)
        return value


def refuse_null(*fields: str) -> Any:
    """A validator for PATCH models: ``fields`` may be left out (kept as they are) but not
    set to null, which the record cannot hold."""

    def check(cls: type, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value

    return field_validator(*fields)(classmethod(check))


def not_in_future(*fields: str) -> Any:
    """A validator for dates that cannot lie ahead (a date of birth)."""

    def check(cls: type, value: Any) -> Any:
        return value if value is None else check_date(value, not_after_today=True)

    return field_validator(*fields)(classmethod(check))


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_surrogate(v) for v in value)
    return False


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field, e.g. `answers` or `bottle_ids.0`.")
    message: str
    location: str = Field(description="`body`, `query`, `path`, `header` or `cookie`.")


class Problem(BaseModel):
    """The body of every error answer."""

    detail: str = Field(description="What is wrong and what to do, in one sentence.")
    errors: list[FieldError] | None = Field(
        default=None, description="422 (and field-specific 409): one entry per bad field."
    )


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "model": Problem,
        "description": "No such record in your clinic (another clinic's records included).",
    }
}

#: Answers every authenticated route can give, documented once for all of them.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not signed in, or the token or session is invalid."},
    403: {"model": Problem, "description": "The role does not allow it, or no CSRF token."},
    422: {"model": Problem, "description": "Invalid request: `errors` lists every bad field."},
}
