"""What the resource routers share: base models and the documented 404."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    """Base of every response model: built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    """Base of every request model: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such record in your clinic (another clinic's records included)."}
}
