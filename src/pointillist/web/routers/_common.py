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


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such record in your clinic (another clinic's records included)."}
}
