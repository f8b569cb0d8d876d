"""The preview editor: the simulation of a stored photo, with the automatic hairline and
treatment area drawn over it, that the practitioner adjusts with the client.

Each edit re-renders at screen resolution (the photo scaled to :data:`SCREEN_WIDTH_PX`),
from an editor state kept in memory for the open page: the photo, its face landmarks and
head model are found once, so an edit only re-runs the design and what follows. The
full-resolution render runs in a background thread with its progress polled by the page,
and is kept as a simulation of the client (a *saved preview*) with its parameters.

Geometry crosses the wire in screen pixels of the scaled photo; the full render scales
it to the photo's own pixels.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from pointillist.errors import PointillistError
from pointillist.store import records
from pointillist.store.db import session_scope
from pointillist.store.errors import NotFound
from pointillist.store.models import Photo
from pointillist.store.scope import Scope
from pointillist.web.deps import DbSession
from pointillist.web.pages._common import Page, SignedIn, render
from pointillist.web.routers._common import PathId
from pointillist.web.routers.photos import photo_store

router = APIRouter(include_in_schema=False)

SCREEN_WIDTH_PX = 720
"""Width the editor renders at: the photo's width on a 10-inch tablet (CSS pixels)."""
EDITORS_KEPT = 8
"""Open editors kept in memory (each holds a screen-size photo and its head model)."""
HEIGHT_RANGE_CM = (6.0, 11.0)
BAND_RANGE_MM = (3.0, 30.0)
YEARS_RANGE = (0.0, 10.0)
SESSIONS_RANGE = (1, 5)


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: float
    y: float


class EditIn(BaseModel):
    """One edit: every parameter, as the editor's controls show them."""

    model_config = ConfigDict(extra="forbid")
    editor: str = Field(max_length=64)
    height_cm: float = Field(ge=HEIGHT_RANGE_CM[0], le=HEIGHT_RANGE_CM[1])
    transition_band_mm: float = Field(ge=BAND_RANGE_MM[0], le=BAND_RANGE_MM[1])
    years: float = Field(ge=YEARS_RANGE[0], le=YEARS_RANGE[1])
    sessions: int = Field(ge=SESSIONS_RANGE[0], le=SESSIONS_RANGE[1])
    session: int = Field(ge=1, le=SESSIONS_RANGE[1])
    points: dict[str, Point] | None = Field(
        default=None, description="Dragged key points: mid_frontal, temple_right, temple_left."
    )
    area_edits: str | None = Field(
        default=None,
        max_length=4_000_000,
        description="PNG data URL at screen size: red paints area in, blue paints it out.",
    )


@dataclass
class EditorState:
    """What one open editor keeps between edits."""

    client_id: int
    photo_id: int
    clinic_id: int
    screen_rgb: np.ndarray
    scale_to_photo: float
    keypoints: Any
    head: Any
    auto_mask: np.ndarray | None = None
    design_points: dict[str, tuple[float, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Job:
    """A full-resolution render running in the background."""

    clinic_id: int
    client_id: int
    stage: str = "starting"
    done: int = 0
    total: int = 1
    simulation_id: int | None = None
    error: str | None = None


def _editors(request: Request) -> OrderedDict[str, EditorState]:
    state = request.app.state
    if not hasattr(state, "preview_editors"):
        state.preview_editors = OrderedDict()
        state.preview_jobs = {}
    editors: OrderedDict[str, EditorState] = state.preview_editors
    return editors


def _jobs(request: Request) -> dict[str, Job]:
    _editors(request)
    jobs: dict[str, Job] = request.app.state.preview_jobs
    return jobs


def _photo_of(db: DbSession, page: Page, client_id: int, photo_id: int) -> Photo:
    photo = records.get_clinical(db, page.scope, Photo, photo_id)
    if photo.client_id != client_id:
        raise NotFound(f"no photo {photo_id} for this client")
    return photo


@router.get("/clients/{client_id}/photos/{photo_id}/preview")
def editor_page(
    request: Request, client_id: PathId, photo_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    page.scope.require("clinical")
    client = records.get_client(db, page.scope, client_id)
    photo = _photo_of(db, page, client.id, photo_id)
    data = photo_store(request).read(photo.sha256, photo.media_type)
    editor_id, state = _open_editor(request, page, client.id, photo.id, data)
    return render(
        request,
        "preview/editor.html",
        {
            "client": client,
            "photo": photo,
            "editor_id": editor_id,
            "width": state.screen_rgb.shape[1],
            "height": state.screen_rgb.shape[0],
            "ranges": {
                "height": HEIGHT_RANGE_CM,
                "band": BAND_RANGE_MM,
                "years": YEARS_RANGE,
                "sessions": SESSIONS_RANGE,
            },
            "defaults": _defaults(),
        },
    )


def _defaults() -> dict[str, float | int]:
    from pointillist.data import load_table
    from pointillist.imaging.hairline import hairline_table

    table = hairline_table()["hairline"]
    sessions = int(load_table("plan")["sessions"]["default_count"])
    return {
        "height_cm": float(table["default_height_cm"]),
        "transition_band_mm": float(table["transition_band_mm"]),
        "years": 0.0,
        "sessions": sessions,
        "session": sessions,
    }


def _open_editor(
    request: Request, page: Page, client_id: int, photo_id: int, data: bytes
) -> tuple[str, EditorState]:
    """Scale the photo to the screen and find the face once for every later edit."""
    import cv2

    from pointillist.imaging.io import load_image
    from pointillist.imaging.landmarks import detect_landmarks

    rgb = load_image(data).rgb
    factor = min(1.0, SCREEN_WIDTH_PX / rgb.shape[1])
    size = (round(rgb.shape[1] * factor), round(rgb.shape[0] * factor))
    screen = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    state = EditorState(
        client_id=client_id,
        photo_id=photo_id,
        clinic_id=page.scope.clinic_id,
        screen_rgb=screen,
        scale_to_photo=1.0 / factor,
        keypoints=detect_landmarks(screen),
        head=None,
    )
    editors = _editors(request)
    editor_id = secrets.token_urlsafe(12)
    editors[editor_id] = state
    while len(editors) > EDITORS_KEPT:
        editors.popitem(last=False)
    return editor_id, state


def _editor(request: Request, page: Page, editor_id: str) -> EditorState:
    state = _editors(request).get(editor_id)
    if state is None or state.clinic_id != page.scope.clinic_id:
        raise PointillistError(
            "this editor has expired (the server restarted or many were opened); reload the page"
        )
    _editors(request).move_to_end(editor_id)
    return state


def _data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _edit_masks(
    data_url: str | None, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray] | None:
    """(add, remove) boolean masks from the brush layer: red adds area, blue removes it."""
    if not data_url:
        return None
    from pointillist.imaging.io import load_image

    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise PointillistError("the painted area did not come as a PNG; clear it and paint again")
    import cv2

    layer = load_image(base64.b64decode(data_url[len(prefix) :])).rgb
    if layer.shape[:2] != shape:
        layer = cv2.resize(layer, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    red, blue = layer[..., 0].astype(int), layer[..., 2].astype(int)
    # Painted on white: red strokes keep red high and blue low, blue strokes the opposite.
    add = (red - blue) > 100
    remove = (blue - red) > 100
    if not (add.any() or remove.any()):
        return None
    return add, remove


def _deformed(
    design: np.ndarray, keys: dict[str, tuple[float, float]], moved: dict[str, Point]
) -> np.ndarray:
    """The designed hairline bent so its key points sit where the practitioner put them:
    each point of the line moves as the key points near it (along the line) moved."""
    anchors = []
    for name in ("temple_right", "mid_frontal", "temple_left"):
        if name in keys:
            old = np.asarray(keys[name])
            new = np.asarray([moved[name].x, moved[name].y]) if name in moved else old
            index = int(np.argmin(np.hypot(*(design - old).T)))
            anchors.append((index, new - old))
    if not anchors:
        return design
    anchors.sort()
    indices = [0, *(a[0] for a in anchors), len(design) - 1]
    shifts = [np.zeros(2), *(a[1] for a in anchors), np.zeros(2)]
    at = np.arange(len(design))
    dx = np.interp(at, indices, [s[0] for s in shifts])
    dy = np.interp(at, indices, [s[1] for s in shifts])
    bent: np.ndarray = design + np.stack([dx, dy], axis=1)
    return bent


def _simulate(
    state: EditorState, edit: EditIn, rgb: np.ndarray, scale: float, progress: Any = None
) -> Any:
    """Run the pipeline for ``edit`` on ``rgb`` (``scale``: its pixels per screen pixel)."""
    from pointillist.imaging import hairline as hairline_mod
    from pointillist.imaging.simulate import simulate

    keypoints = state.keypoints if scale == 1.0 else None
    hairline_points = None
    if edit.points and state.keypoints is not None and state.head is not None:
        design = hairline_mod.design_hairline(
            state.keypoints,
            state.head,
            height_cm=edit.height_cm,
            transition_band_mm=edit.transition_band_mm,
        )
        keys = {
            k: v
            for k, v in (
                ("mid_frontal", design.mid_frontal),
                ("temple_right", design.temple_right),
                ("temple_left", design.temple_left),
            )
            if v is not None
        }
        hairline_points = _deformed(design.points, keys, edit.points) * scale
    mask = None
    edits = _edit_masks(edit.area_edits, state.screen_rgb.shape[:2])
    if edits is not None and state.auto_mask is not None:
        import cv2

        add, remove = edits
        area = (state.auto_mask | add) & ~remove
        if scale != 1.0:
            area = (
                cv2.resize(
                    area.astype(np.uint8),
                    (rgb.shape[1], rgb.shape[0]),
                    interpolation=cv2.INTER_NEAREST,
                )
                > 0
            )
        mask = area
    return simulate(
        rgb,
        sessions=edit.sessions,
        hairline_height_cm=edit.height_cm,
        transition_band_mm=edit.transition_band_mm,
        hairline_points=hairline_points,
        landmarks=keypoints,
        mask=mask,
        years=edit.years,
        seed=1,
        progress=progress,
    )


@router.post("/clients/{client_id}/photos/{photo_id}/preview/render")
async def render_edit(
    request: Request, client_id: PathId, photo_id: PathId, page: SignedIn
) -> Response:
    """Re-render at screen resolution; answer the image and the overlays as JSON."""
    import cv2

    from pointillist.imaging.io import encode_jpeg

    page.scope.require("clinical")
    edit = EditIn.model_validate(await request.json())
    state = _editor(request, page, edit.editor)
    if state.client_id != client_id or state.photo_id != photo_id:
        raise NotFound("this editor belongs to another photo; reload the page")
    if edit.session > edit.sessions:
        raise PointillistError(
            f"session {edit.session}: choose 1 to {edit.sessions}", field="session"
        )
    started = time.perf_counter()
    with state.lock:
        sim = _simulate(state, edit, state.screen_rgb, 1.0)
        if state.head is None:
            state.head = sim.head
        h, w = state.screen_rgb.shape[:2]
        mask = (
            cv2.resize(sim.treatment_mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
            > 0
        )
        if state.auto_mask is None or edit.area_edits is None:
            state.auto_mask = mask
    server_ms = (time.perf_counter() - started) * 1000.0
    overlay = np.zeros((h, w, 4), np.uint8)
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    cv2.drawContours(overlay, contours, -1, (255, 200, 0, 255), 2)
    hl = sim.hairline
    points = {}
    if hl is not None:
        design_keys = (
            ("mid_frontal", hl.mid_frontal),
            ("temple_right", hl.temple_right),
            ("temple_left", hl.temple_left),
        )
        points = {k: {"x": v[0], "y": v[1]} for k, v in design_keys if v is not None}
        if edit.points:
            points.update({k: p.model_dump() for k, p in edit.points.items()})
    return JSONResponse(
        {
            "image": _data_url(encode_jpeg(sim.session_images[edit.session - 1]), "image/jpeg"),
            "area": _data_url(_png_rgba(overlay), "image/png"),
            "hairline": [] if hl is None else hl.to_json(),
            "points": points,
            "area_cm2": round(sim.treatment_area_cm2, 1),
            "impressions": sim.cumulative_impressions()[edit.session - 1],
            "server_ms": round(server_ms),
            "warnings": sim.warnings,
        },
        headers={"Cache-Control": "no-store"},
    )


def _png_rgba(rgba: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return encoded.tobytes()


@router.post("/clients/{client_id}/photos/{photo_id}/preview/save")
async def save_full(
    request: Request, client_id: PathId, photo_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    """Start the full-resolution render; it is kept as a saved preview when done."""
    page.scope.require("clinical")
    edit = EditIn.model_validate(await request.json())
    state = _editor(request, page, edit.editor)
    photo = _photo_of(db, page, client_id, photo_id)
    data = photo_store(request).read(photo.sha256, photo.media_type)
    job_id = secrets.token_urlsafe(12)
    job = Job(clinic_id=page.scope.clinic_id, client_id=client_id)
    _jobs(request)[job_id] = job
    thread = threading.Thread(
        target=_run_job,
        args=(request.app.state, page.scope, state, edit, data, photo.id, job),
        daemon=True,
    )
    thread.start()
    return JSONResponse({"job": job_id}, status_code=202)


def _run_job(
    app_state: Any,
    scope: Scope,
    state: EditorState,
    edit: EditIn,
    data: bytes,
    photo_id: int,
    job: Job,
) -> None:
    from pointillist.imaging.io import encode_jpeg, load_image

    def progress(stage: str, index: int, total: int) -> None:
        job.stage, job.done, job.total = stage, index, total

    try:
        rgb = load_image(data).rgb
        sim = _simulate(state, edit, rgb, state.scale_to_photo, progress=progress)
        parameters: dict[str, Any] = {
            "height_cm": edit.height_cm,
            "transition_band_mm": edit.transition_band_mm,
            "years": edit.years,
            "sessions": edit.sessions,
            "shown_session": edit.session,
            "points_moved": sorted(edit.points or {}),
            "area_painted": edit.area_edits is not None,
            "treatment_area_cm2": round(sim.treatment_area_cm2, 1),
            "source": "editor",
        }
        outputs = {"before_after.jpg": encode_jpeg(sim.before_after)}
        for k, image in enumerate(sim.session_images, start=1):
            outputs[f"session_{k}.jpg"] = encode_jpeg(image)
        with session_scope(app_state.session_factory) as db:
            saved = records.add_simulation(
                db,
                scope,
                app_state.photo_store,
                state.client_id,
                parameters=parameters,
                outputs=outputs,
                photo_id=photo_id,
            )
            job.simulation_id = saved.id
        job.stage = "done"
    except PointillistError as exc:
        job.error = exc.message
    except Exception as exc:  # a bug: say so on the page rather than spin for ever
        job.error = f"the render failed ({type(exc).__name__}); the server log has the details"
        raise


@router.get("/clients/{client_id}/preview-jobs/{job_id}")
def job_status(request: Request, client_id: PathId, job_id: str, page: SignedIn) -> Response:
    job = _jobs(request).get(job_id)
    if job is None or job.clinic_id != page.scope.clinic_id or job.client_id != client_id:
        raise NotFound("no such render; start it again")
    return JSONResponse(
        {
            "stage": job.stage,
            "done": job.done,
            "total": job.total,
            "simulation_id": job.simulation_id,
            "error": job.error,
        },
        headers={"Cache-Control": "no-store"},
    )
