"""Simulations: the parameters of a preview and its rendered images."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import Field

from pointillist.errors import PointillistError
from pointillist.store import records
from pointillist.store.errors import NotFound
from pointillist.store.models import Simulation
from pointillist.web.auth import CurrentActor
from pointillist.web.deps import DbSession
from pointillist.web.routers._common import MAX_ID, NOT_FOUND, Out, PathId
from pointillist.web.routers.photos import TOO_LARGE, photo_store

router = APIRouter(tags=["simulations"])

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


class SimulationOutput(Out):
    name: str
    sha256: str
    media_type: str


class SimulationOut(Out):
    id: int
    client_id: int
    photo_id: int | None = Field(description="The photo the preview was rendered on.")
    parameters: dict[str, Any]
    outputs: list[SimulationOutput] = Field(description="Rendered images, by file name.")
    created_at: datetime


@router.post(
    "/api/clients/{client_id}/simulations",
    response_model=SimulationOut,
    status_code=201,
    summary="Keep a simulation",
    responses={**NOT_FOUND, **TOO_LARGE},
)
def create_simulation(
    client_id: PathId,
    actor: CurrentActor,
    db: DbSession,
    request: Request,
    parameters: Annotated[str, Form(description="The simulation's parameters, a JSON object.")],
    outputs: Annotated[
        list[UploadFile], File(description="Rendered images (PNG or JPEG), by file name.")
    ] = [],  # noqa: B006 - FastAPI copies defaults per request
    photo_id: Annotated[
        int | None, Form(ge=1, le=MAX_ID, description="The photo it was rendered on.")
    ] = None,
) -> Simulation:
    """Keep a simulation's parameters and rendered images (clinical roles); the images
    go through the same validation and metadata stripping as photos."""
    try:
        params = json.loads(parameters)
    except json.JSONDecodeError as exc:
        raise PointillistError(
            f"parameters is not valid JSON ({exc})", field="parameters"
        ) from None
    if not isinstance(params, dict):
        raise PointillistError("parameters must be a JSON object", field="parameters")
    files: dict[str, bytes] = {}
    for upload in outputs:
        name = upload.filename or ""
        # The name becomes a path inside the export zip: plain names only.
        if not _SAFE_NAME.fullmatch(name):
            raise PointillistError(
                f"output file name {name!r} is not allowed; use letters, digits, '.', '_' "
                "and '-' (e.g. session-1.png)",
                field="outputs",
            )
        if name in files:
            raise PointillistError(f"two output files are named {name!r}", field="outputs")
        files[name] = upload.file.read()
    return records.add_simulation(
        db,
        actor.scope,
        photo_store(request),
        client_id,
        parameters=params,
        outputs=files,
        photo_id=photo_id,
    )


@router.get(
    "/api/clients/{client_id}/simulations",
    response_model=list[SimulationOut],
    summary="A client's simulations",
    responses=NOT_FOUND,
)
def list_simulations(client_id: PathId, actor: CurrentActor, db: DbSession) -> list[Simulation]:
    """Oldest first (clinical roles only)."""
    return records.list_for_client(db, actor.scope, Simulation, client_id)


@router.get(
    "/api/simulations/{simulation_id}",
    response_model=SimulationOut,
    summary="A simulation",
    responses=NOT_FOUND,
)
def get_simulation(simulation_id: PathId, actor: CurrentActor, db: DbSession) -> Simulation:
    """One simulation (clinical roles; audited)."""
    return records.get_clinical(db, actor.scope, Simulation, simulation_id)


@router.get(
    "/api/simulations/{simulation_id}/outputs/{name}",
    response_class=Response,
    summary="A simulation's rendered image",
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, **NOT_FOUND},
)
def get_simulation_output(
    simulation_id: PathId, name: str, actor: CurrentActor, db: DbSession, request: Request
) -> Response:
    """One rendered image of the simulation, by file name."""
    simulation = records.get_clinical(db, actor.scope, Simulation, simulation_id)
    for output in simulation.outputs:
        if output["name"] == name:
            data = photo_store(request).read(output["sha256"], output["media_type"])
            return Response(data, media_type=output["media_type"])
    raise NotFound(f"simulation {simulation_id} has no output named {name!r}")
