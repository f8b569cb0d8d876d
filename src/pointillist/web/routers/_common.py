"""What the resource routers share: base models and the documented 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Record ids are 32-bit INTEGER columns on PostgreSQL: a larger number names no record and
#: must be refused (422) before it reaches the database, which would fail on it.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="Record id.")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Out(BaseModel):
    """Base of every response model: built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    """Base of every request model: unknown fields are refused, not silently dropped, and
    text with a NUL character (which PostgreSQL cannot store) is refused by field."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("text must not contain NUL (\\x00) characters")
        return value


def refuse_null(*fields: str) -> Any:
    """A validator for PATCH models: ``fields`` may be left out (kept as they are) but not
    set to null, which the record cannot hold."""

    def check(cls: type, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value

    return field_validator(*fields)(classmethod(check))


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
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
