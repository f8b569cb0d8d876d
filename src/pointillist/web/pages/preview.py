"""The preview editor: the simulation of a stored photo, with the automatic hairline and
treatment area drawn over it, that the practitioner adjusts with the client.

Each edit re-renders at screen resolution (the photo scaled to :data:`SCREEN_WIDTH_PX`
wide, :data:`SCREEN_LONG_SIDE_PX` at most on its long side), and only the session shown:
the open page keeps one :class:`~pointillist.imaging.simulate.Simulation` in memory and
each edit is a :meth:`~pointillist.imaging.simulate.Simulation.update`, which re-runs
only the stages that read the changed options (a moved point: hairline and what follows;
years: skin, render and compose). The full-resolution render runs the same options,
rescaled to the photo (:meth:`~pointillist.imaging.simulate.SimulationOptions.rescaled`),
in a background thread whose progress the page polls, and is kept as a simulation of the
client (a *saved preview*) with its parameters.

Geometry crosses the wire in screen pixels of the scaled photo; the full render scales
it to the photo's own pixels.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
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
SCREEN_LONG_SIDE_PX = 960
"""...and at most this long on its long side: a tall phone photo (9:16) would otherwise be
1280 px high, more pixels to render on every edit than the screen shows."""
EDITORS_KEPT = 8
"""Open editors kept in memory (each holds a screen-size photo and its head model)."""
JOBS_KEPT = 32
"""Full-size renders whose progress can still be asked for."""
HEIGHT_RANGE_CM = (6.0, 11.0)
BAND_RANGE_MM = (3.0, 30.0)
YEARS_RANGE = (0.0, 10.0)
DENSITY_RANGE = (0.2, 1.5)
SESSIONS_RANGE = (1, 5)
#: The hairline's key points, in the order of ``SimulationOptions.hairline_anchors``.
ANCHORS = ("mid_frontal", "temple_right", "temple_left")


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
    density: float = Field(ge=DENSITY_RANGE[0], le=DENSITY_RANGE[1])
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
    shade: str = Field(
        default="",
        max_length=64,
        description="Catalogue shade id to draw the dots in; empty for the recommended one.",
    )


@dataclass
class EditorState:
    """What one open editor keeps between edits: the screen-sized simulation."""

    client_id: int
    photo_id: int
    clinic_id: int
    sim: Any
    photo_size: tuple[int, int]
    pigments: Any = None
    """The clinic's pigment catalogue (:func:`~pointillist.web.pages.clinic.pigment_override`:
    its own tables, the file ``serve`` was given, or None for the packaged one)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The last answer's encoded image and area outline, and the arrays they were made
    # from: an edit that changes neither (the years slider leaves the area alone)
    # sends them again without encoding them again.
    encoded: str = ""
    encoded_for: Any = None
    area: str = ""
    area_for: Any = None
    masks: tuple[np.ndarray, np.ndarray] | None = None
    masks_for: str | None = None


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
    editor_id, state = _open_editor(request, page, db, client.id, photo.id, data)
    look = state.sim.dot_look
    return render(
        request,
        "preview/editor.html",
        {
            "client": client,
            "photo": photo,
            "editor_id": editor_id,
            "width": state.sim.image.shape[1],
            "height": state.sim.image.shape[0],
            "ranges": {
                "height": HEIGHT_RANGE_CM,
                "band": BAND_RANGE_MM,
                "years": YEARS_RANGE,
                "sessions": SESSIONS_RANGE,
                "density": DENSITY_RANGE,
            },
            "defaults": _defaults(),
            "shades": shade_choices(state.pigments),
            "recommended_shade": None if look is None else look.shade,
        },
    )


def shade_choices(pigments: Any) -> list[dict[str, str]]:
    """The catalogue's shades for the editor's shade control, lightest first."""
    from pointillist.color.dot import shades_light_to_dark

    return [{"id": s.id, "name": s.name} for s in shades_light_to_dark(pigments)]


def _defaults() -> dict[str, float | int]:
    from pointillist.data import load_table
    from pointillist.imaging.hairline import hairline_table

    table = hairline_table()["hairline"]
    sessions = int(load_table("plan")["sessions"]["default_count"])
    return {
        "height_cm": float(table["default_height_cm"]),
        "transition_band_mm": float(table["transition_band_mm"]),
        "years": 0.0,
        "density": 1.0,
        "sessions": sessions,
        "session": sessions,
    }


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the numba kernels of this thread on one core while inside.

    At screen size each kernel is a few milliseconds of work: waking numba's worker
    threads costs more than they save, and far more on a busy machine (measured with
    the demo photo at load 6 on 2 cores: the sampler's survey 24 -> 2 ms of CPU, the
    renderer's strip index 15 -> 2 ms, its compositing 15 -> 4 ms). Numba's thread
    count is per calling thread, so the full-size render in the background keeps them all.
    The ahead-of-time build (the usual one) runs on one core anyway.
    """
    from pointillist.imaging import kernels

    if kernels.build() != "jit":
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def screen_simulation(data: bytes, *, pigments: Any = None) -> tuple[Any, tuple[int, int]]:
    """The photo scaled to the editor's width with the whole pipeline run on it once, and
    the photo's own size (``make bench`` times edits on this too)."""
    import cv2

    from pointillist.imaging.io import load_image
    from pointillist.imaging.simulate import SimulationOptions, prepare

    rgb = load_image(data).rgb
    factor = min(1.0, SCREEN_WIDTH_PX / rgb.shape[1], SCREEN_LONG_SIDE_PX / max(rgb.shape[:2]))
    size = (round(rgb.shape[1] * factor), round(rgb.shape[0] * factor))
    screen = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    # The controls' starting values, so that the page's first request re-runs nothing.
    defaults = _defaults()
    options = SimulationOptions(
        sessions=int(defaults["sessions"]),
        hairline_height_cm=float(defaults["height_cm"]),
        transition_band_mm=float(defaults["transition_band_mm"]),
        seed=1,
        pigments=pigments,
    )
    sim = prepare(screen, options)
    # Only the session on screen is rendered, when it is asked for (see render_edit_json).
    sim.lazy = True
    with one_thread():
        sim.run()
    return sim, (rgb.shape[1], rgb.shape[0])


def _open_editor(
    request: Request, page: Page, db: DbSession, client_id: int, photo_id: int, data: bytes
) -> tuple[str, EditorState]:
    from pointillist.store import clinic as clinics
    from pointillist.web.pages.clinic import pigment_override

    pigments = pigment_override(request, clinics.get_clinic(db, page.scope))
    sim, photo_size = screen_simulation(data, pigments=pigments)
    state = EditorState(
        client_id=client_id,
        photo_id=photo_id,
        clinic_id=page.scope.clinic_id,
        sim=sim,
        photo_size=photo_size,
        pigments=pigments,
    )
    warm_shades()
    editors = _editors(request)
    editor_id = secrets.token_urlsafe(12)
    editors[editor_id] = state
    while len(editors) > EDITORS_KEPT:
        editors.popitem(last=False)
    return editor_id, state


_warmed = threading.Event()


def warm_shades() -> threading.Thread | None:
    """Load the optical model in the background once per process, while the practitioner
    looks at the first render: drawing another shade runs it, and its first run imports
    colour-science and tabulates the skin model (seconds, not milliseconds)."""
    if _warmed.is_set():
        return None
    _warmed.set()

    def warm() -> None:
        from pointillist.color.dot import dot_ratio, find_shade

        dot_ratio((60.0, 10.0, 16.0), find_shade("cb-1:3"), 0.3)

    thread = threading.Thread(target=warm, name="warm-shades", daemon=True)
    thread.start()
    return thread


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
    """(add, remove) boolean masks from the brush layer: red adds area, blue removes it.

    The layer is the page's own canvas (a PNG of the screen size, transparent where
    nothing is painted); its size is read from the header before it is decoded, so a
    forged one cannot cost more than a screenful.
    """
    if not data_url:
        return None
    import struct

    import cv2

    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise PointillistError("the painted area did not come as a PNG; clear it and paint again")
    try:
        data = base64.b64decode(data_url[len(prefix) :], validate=True)
    except ValueError:
        raise PointillistError("the painted area is damaged; clear it and paint again") from None
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n":
        raise PointillistError("the painted area did not come as a PNG; clear it and paint again")
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= 2 * shape[1] and 0 < height <= 2 * shape[0]):
        raise PointillistError(
            f"the painted area is {width}x{height} pixels but the preview is "
            f"{shape[1]}x{shape[0]}; reload the page"
        )
    layer = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if layer is None or layer.ndim != 3:
        raise PointillistError("the painted area is damaged; clear it and paint again")
    if layer.shape[:2] != shape:
        layer = cv2.resize(layer, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    blue, red = layer[..., 0].astype(np.int16), layer[..., 2].astype(np.int16)
    painted = layer[..., 3] > 127 if layer.shape[2] == 4 else np.ones(shape, bool)
    # Red strokes keep red high and blue low, blue strokes the opposite.
    add = painted & ((red - blue) > 100)
    remove = painted & ((blue - red) > 100)
    if not (add.any() or remove.any()):
        return None
    return add, remove


def _changes(state: EditorState, edit: EditIn) -> dict[str, Any]:
    """The simulation options an edit asks for (screen pixels)."""
    changes: dict[str, Any] = {
        "sessions": edit.sessions,
        "hairline_height_cm": edit.height_cm,
        "transition_band_mm": edit.transition_band_mm,
        "years": edit.years,
        "density": edit.density,
        "shade": edit.shade or None,
        "hairline_anchors": None,
        "area_add": None,
        "area_remove": None,
    }
    if edit.points:
        # Points not moved stay where they were: where earlier edits put them, else where
        # the design puts them. (Taking them from the line drawn last would round them a
        # little differently each time and re-run the hairline for a brush stroke.)
        design = state.sim.hairline
        previous = state.sim.options.hairline_anchors
        anchors = []
        for index, name in enumerate(ANCHORS):
            point = edit.points.get(name)
            if point is None and previous is not None:
                anchors.append(previous[index])
            elif point is None:
                designed = None if design is None else getattr(design, name)
                if designed is None:
                    raise PointillistError("no hairline design on this photo to move")
                anchors.append((float(designed[0]), float(designed[1])))
            else:
                anchors.append((point.x, point.y))
        changes["hairline_anchors"] = tuple(anchors)
    if edit.area_edits != state.masks_for:
        # Decoded once per stroke: the page sends the painted layer with every later edit.
        state.masks = _edit_masks(edit.area_edits, state.sim.image.shape[:2])
        state.masks_for = edit.area_edits
    edits = state.masks
    if edits is not None:
        changes["area_add"], changes["area_remove"] = edits
    return changes


@router.post("/clients/{client_id}/photos/{photo_id}/preview/render")
async def render_edit(
    request: Request, client_id: PathId, photo_id: PathId, page: SignedIn
) -> Response:
    """Re-render at screen resolution; answer the image and the overlays as JSON."""
    page.scope.require("clinical")
    edit = EditIn.model_validate(await request.json())
    state = _editor(request, page, edit.editor)
    if state.client_id != client_id or state.photo_id != photo_id:
        raise NotFound("this editor belongs to another photo; reload the page")
    if edit.session > edit.sessions:
        raise PointillistError(
            f"session {edit.session}: choose 1 to {edit.sessions}", field="session"
        )
    return await run_in_threadpool(render_edit_json, state, edit)


def render_edit_json(state: EditorState, edit: EditIn) -> Response:
    """Apply the edit to the editor's simulation (only the stages it touches re-run),
    render the session shown, and answer it with the area's outline and the hairline.

    ``server_ms`` is the whole of it: the update, the render and the encoding.
    """
    from pointillist.imaging.io import encode_jpeg

    started = time.perf_counter()
    with state.lock, one_thread():
        sim = state.sim
        rerun = sim.update(**_changes(state, edit))
        image = sim.session_image(edit.session)
        if state.encoded_for is not image:
            state.encoded = _data_url(encode_jpeg(image), "image/jpeg")
            state.encoded_for = image
        if state.area_for is not sim.treatment_mask:
            state.area = _data_url(_area_outline_png(sim), "image/png")
            state.area_for = sim.treatment_mask
        hl = sim.hairline
        answer = {
            "image": state.encoded,
            "area": state.area,
            "hairline": [] if hl is None else hl.to_json(),
            "points": _points_json(hl),
            "area_cm2": round(sim.treatment_area_cm2, 1),
            "impressions": sim.cumulative_impressions()[edit.session - 1],
            "stages": rerun,
            "warnings": sim.warnings,
            "shade": None if sim.dot_look is None else sim.dot_look.shade,
        }
    answer["server_ms"] = round((time.perf_counter() - started) * 1000.0)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


def _points_json(hl: Any) -> dict[str, dict[str, float]]:
    points = {}
    if hl is not None:
        for name in ANCHORS:
            value = getattr(hl, name)
            if value is not None:
                points[name] = {"x": float(value[0]), "y": float(value[1])}
    return points


def _area_outline_png(sim: Any) -> bytes:
    """The treatment area's outline, drawn over the preview on a transparent layer."""
    import cv2

    h, w = sim.image.shape[:2]
    mask = cv2.resize(sim.treatment_mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    overlay = np.zeros((h, w, 4), np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(overlay, contours, -1, (255, 200, 0, 255), 2)
    return _png_rgba(overlay)


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
    jobs = _jobs(request)
    jobs[job_id] = job
    for stale in list(jobs)[:-JOBS_KEPT]:
        del jobs[stale]
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
    """Render the editor's choices on the full photo; keep it as a saved preview."""
    from pointillist.imaging.io import encode_jpeg
    from pointillist.imaging.simulate import prepare

    def progress(stage: str, index: int, total: int) -> None:
        job.stage, job.done, job.total = stage, index, total

    try:
        with state.lock:
            state.sim.update(**_changes(state, edit))
            factor = state.photo_size[0] / state.sim.image.shape[1]
            options = state.sim.options.rescaled(factor)
        sim = prepare(data, options)
        sim.run(progress=progress)
        parameters: dict[str, Any] = {
            "height_cm": edit.height_cm,
            "transition_band_mm": edit.transition_band_mm,
            "years": edit.years,
            "density": edit.density,
            "sessions": edit.sessions,
            "shown_session": edit.session,
            "hairline_anchors": None
            if options.hairline_anchors is None
            else [[round(x, 1), round(y, 1)] for x, y in options.hairline_anchors],
            "area_painted": edit.area_edits is not None,
            "shade": None if sim.dot_look is None else sim.dot_look.shade,
            "shade_chosen": bool(edit.shade),
            "treatment_area_cm2": round(sim.treatment_area_cm2, 1),
            "seed": sim.seed,
            "source": "editor",
        }
        assert sim.before_after is not None
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
    except Exception:
        # A bug: say so on the page rather than let it poll for ever, and log it.
        job.error = "the full-size render failed; the server log has the details"
        raise


@router.get("/clients/{client_id}/preview-jobs/{job_id}")
def job_status(request: Request, client_id: PathId, job_id: str, page: SignedIn) -> Response:
    page.scope.require("clinical")
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
