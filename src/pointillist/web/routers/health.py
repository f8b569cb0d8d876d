"""``/healthz``: is the server up, and can it reach its database?"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(description="`ok`, or `unavailable` when the database cannot be reached.")
    database: str = Field(description="Database backend in use: `sqlite` or `postgresql`.")
    version: str = Field(description="pointillist version.")


@router.get(
    "/healthz",
    response_model=Health,
    summary="Health check",
    responses={503: {"model": Health, "description": "The database cannot be reached."}},
)
def healthz(request: Request) -> Health | JSONResponse:
    """Answer 200 when the database answers a trivial query, 503 otherwise. Needs no login."""
    engine = request.app.state.engine
    health = Health(status="ok", database=engine.dialect.name, version=request.app.version)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        health.status = "unavailable"
        return JSONResponse(health.model_dump(), status_code=503)
    return health
