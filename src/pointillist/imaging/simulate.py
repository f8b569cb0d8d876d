"""The simulation pipeline: a client's photo in, a preview after every session out.

One :class:`Simulation` carries the job: the options the user chose
(:class:`SimulationOptions`) and the result of every stage (landmarks, scale, regions,
head model, hairline, treatment area, impressions, rendered sessions, timings), so the
CLI, the web app and the reports show the same thing. Each stage is a function over
that object; :meth:`Simulation.update` changes options and re-runs only the stages that
read them and the stages downstream of those (:data:`STAGE_OPTIONS`,
:data:`STAGE_INPUTS`): a dragged hairline re-runs hairline, treatment, impressions,
render and compose, a new ``years`` only skin, render and compose. The web editor
lives on that.

:func:`simulate` runs every stage once. :meth:`Simulation.write` writes the output
contract of ``pointillist simulate``: ``session_1.jpg`` .. ``session_N.jpg``,
``before_after.jpg``, ``overlay.png`` and ``simulation.json``.

Stages and where their work lives:

1. ``load``: safe loading (:mod:`~pointillist.imaging.io`);
2. ``landmarks``: every face (:mod:`~pointillist.imaging.landmarks`), the client's chosen;
3. ``regions``: head, skin, existing hair (:mod:`~pointillist.imaging.regions`);
4. ``head``: scale (:mod:`~pointillist.imaging.scale`) and the ellipsoid head
   (:mod:`~pointillist.imaging.head`);
5. ``hairline``: the design (:mod:`~pointillist.imaging.hairline`);
6. ``treatment``: the area and the share of the final density wanted in each cell;
7. ``skin``: skin colour and the healed dot's colour (:mod:`pointillist.color`);
8. ``impressions``: cumulative per session (:mod:`~pointillist.imaging.impressions`);
9. ``render``: pigment under the skin (:mod:`~pointillist.imaging.render`);
10. ``compose``: before/after and overlay (:mod:`~pointillist.imaging.compose`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pointillist.data import Override, load_table
from pointillist.errors import PointillistError
from pointillist.imaging.compose import compose_before_after, compose_overlay
from pointillist.imaging.grid import all_in_blocks, feather, mask_on_grid, regrid
from pointillist.imaging.hairline import Hairline
from pointillist.imaging.head import HeadModel
from pointillist.imaging.landmarks import FaceKeypoints
from pointillist.imaging.regions import Regions
from pointillist.imaging.scale import Scale

if TYPE_CHECKING:
    from pointillist.color import DotLook, SkinMeasurement
    from pointillist.imaging.impressions import Impressions

STAGES = (
    "load",
    "landmarks",
    "regions",
    "head",
    "hairline",
    "treatment",
    "skin",
    "impressions",
    "render",
    "compose",
)
"""The pipeline's stages in order, as reported in ``timings_ms`` (plus ``write``)."""

STAGE_INPUTS: dict[str, tuple[str, ...]] = {
    "load": (),
    "landmarks": ("load",),
    "regions": ("landmarks",),
    "head": ("regions",),
    "hairline": ("head",),
    "treatment": ("hairline",),
    "skin": ("regions",),
    "impressions": ("treatment",),
    "render": ("impressions", "skin"),
    "compose": ("render",),
}
"""The stages whose results each stage reads: a stage re-runs when any of them did."""

STAGE_OPTIONS: dict[str, tuple[str, ...]] = {
    "load": (),
    "landmarks": ("landmarks", "detect_face", "face"),
    "regions": ("mask",),
    "head": ("mm_per_px", "head_width_mm"),
    "hairline": (
        "hairline_height_cm",
        "hairline_shape",
        "transition_band_mm",
        "hairline_points",
        "hairline_anchors",
        "seed",
    ),
    "treatment": ("area_add", "area_remove"),
    "skin": ("years", "shade", "pigments"),
    "impressions": ("sessions", "density", "seed"),
    "render": (),
    "compose": (),
}
"""The options (fields of :class:`SimulationOptions`) each stage reads."""

SAMPLE_CELL_MM = 0.25
"""Impressions are sampled on a grid of about this many mm per cell (never finer than the
photo), then placed at full resolution: the density map is smooth at that scale."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, index, total)``: called as each stage starts, and once at the end
with ``stage = "done"``."""

Point = tuple[float, float]


@dataclass(frozen=True)
class SimulationOptions:
    """What the user chose; ``None`` means the data files' default.

    Attributes
    ----------
    sessions
        Number of sessions (``data/plan.toml``: 3 to 5).
    hairline_height_cm, hairline_shape, transition_band_mm
        Hairline design (frontal photos): mid-frontal point above the glabella along
        the surface (default 8 cm), ``rounded``/``straight``/``natural``, and the band
        over which density ramps up (default 15 mm).
    hairline_points
        ``(N, 2)`` pixels of a hairline drawn by the practitioner, used instead of the
        design; the scalp is on the side towards the top of the head.
    hairline_anchors
        The design's key points moved by hand, in pixels: ``(mid_frontal, temple_right,
        temple_left)``; the line is drawn through them in the design's shape.
    mm_per_px, head_width_mm
        The photo's scale, or the head's breadth in mm to derive it from; without
        either, the iris gives it.
    mask
        Treatment area given directly (photo-sized boolean array): replaces detection.
    area_add, area_remove
        The practitioner's edits of the proposed area (photo-sized boolean arrays, or
        any size: they are resampled onto the photo), painted in and out.
    landmarks
        Key points given instead of detecting faces.
    detect_face
        Look for faces when no landmarks are given; off for a photo of the top or back
        of the head (``--view top``/``back``). With it on, a photo without a face is
        refused unless ``mask`` gives the area: a faceless photo may not be a head.
    face
        Which face is the client's, 1-based, largest first (default: the largest).
    density
        Share of the plan's final density shown (0.2 to 1.5), for "lighter" or
        "denser" previews.
    seed
        Seed of every random choice: the same inputs and seed give identical images.
    years
        Show the healed look this many years on (fading, blue drift).
    shade
        A pigment shade of the catalogue (its id, e.g. ``cb-1:3``) to draw the dots in,
        instead of the one recommended for the skin (:func:`pointillist.color.look.with_shade`).
    pigments
        A clinic's own pigment catalogue (``pigments.toml``, or its parsed tables) for
        ``shade``.
    """

    sessions: int | None = None
    hairline_height_cm: float | None = None
    hairline_shape: str | None = None
    transition_band_mm: float | None = None
    hairline_points: np.ndarray | None = None
    hairline_anchors: tuple[Point, Point, Point] | None = None
    mm_per_px: float | None = None
    head_width_mm: float | None = None
    mask: np.ndarray | None = None
    area_add: np.ndarray | None = None
    area_remove: np.ndarray | None = None
    landmarks: FaceKeypoints | None = None
    detect_face: bool = True
    face: int | None = None
    density: float = 1.0
    seed: int = 0
    years: float = 0.0
    shade: str | None = None
    pigments: Override = None

    def check(self, size: tuple[int, int]) -> None:
        """Refuse options no simulation can honour, before any work is done."""
        from pointillist.imaging import hairline as hairline_mod
        from pointillist.imaging.impressions import cumulative_fractions_for
        from pointillist.imaging.scale import check_head_width_mm, check_mm_per_px

        cumulative_fractions_for(self.session_count())
        if not (np.isfinite(self.years) and 0.0 <= self.years <= 30.0):
            raise PointillistError(f"--years {self.years:g}: give 0 to 30 years after healing")
        if not (np.isfinite(self.density) and 0.2 <= self.density <= 1.5):
            raise PointillistError(
                f"density {self.density:g}: give 0.2 to 1.5 times the plan's final density"
            )
        if self.shade is not None:
            from pointillist.color.dot import find_shade

            find_shade(self.shade, self.pigments)
        if self.face is not None and self.face < 1:
            raise PointillistError(f"--face {self.face}: faces are numbered from 1, largest first")
        if self.mm_per_px is not None:
            check_mm_per_px(self.mm_per_px)
        if self.head_width_mm is not None:
            check_head_width_mm(self.head_width_mm)
        if self.hairline_points is None:
            table = hairline_mod.hairline_table()["hairline"]
            hairline_mod.check_design(
                str(table["default_shape"]) if self.hairline_shape is None else self.hairline_shape,
                float(table["default_height_cm"])
                if self.hairline_height_cm is None
                else self.hairline_height_cm,
                float(table["transition_band_mm"])
                if self.transition_band_mm is None
                else self.transition_band_mm,
            )
        width, height = size
        for name in ("mask", "area_add", "area_remove"):
            value = getattr(self, name)
            if value is not None and (value.ndim != 2 or value.size == 0):
                raise PointillistError(f"the {name.replace('_', ' ')} must be a 2-D mask")
        if self.mask is not None:
            if self.mask.shape != (height, width):
                raise PointillistError(
                    f"the mask is {self.mask.shape[1]}x{self.mask.shape[0]} but the photo is "
                    f"{width}x{height}"
                )
            if not self.mask.any():
                raise PointillistError("the mask is empty; mark the treatment area")
        if self.hairline_anchors is not None:
            for x, y in self.hairline_anchors:
                if not (np.isfinite(x) and np.isfinite(y) and 0 <= x < width and 0 <= y < height):
                    raise PointillistError(
                        "the hairline's key points must lie inside the photo "
                        f"({width}x{height} pixels)"
                    )

    def rescaled(self, factor: float) -> SimulationOptions:
        """The same choices for the photo resized by ``factor`` (new size / old size).

        Pixel positions (a drawn hairline, moved key points, given landmarks) and the
        scale move with the photo; painted masks are resampled by the stages anyway. The
        web editor works on a screen-sized copy and renders the full photo with this.
        """
        if not (np.isfinite(factor) and factor > 0):
            raise PointillistError(f"cannot rescale a simulation by {factor!r}")
        anchors = self.hairline_anchors
        return dataclasses.replace(
            self,
            hairline_points=None if self.hairline_points is None else self.hairline_points * factor,
            hairline_anchors=None
            if anchors is None
            else (
                (anchors[0][0] * factor, anchors[0][1] * factor),
                (anchors[1][0] * factor, anchors[1][1] * factor),
                (anchors[2][0] * factor, anchors[2][1] * factor),
            ),
            mm_per_px=None if self.mm_per_px is None else self.mm_per_px / factor,
            landmarks=None
            if self.landmarks is None
            else _rescale_keypoints(self.landmarks, factor),
            mask=None,
        )

    def session_count(self) -> int:
        if self.sessions is None:
            return int(load_table("plan")["sessions"]["default_count"])
        return int(self.sessions)

    def changed(self, other: SimulationOptions) -> set[str]:
        """Names of the options that differ from ``other``'s."""
        names = set()
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                same = (
                    isinstance(a, np.ndarray)
                    and isinstance(b, np.ndarray)
                    and a.shape == b.shape
                    and bool(np.array_equal(a, b))
                )
            else:
                same = a == b
            if not same:
                names.add(f.name)
        return names


@dataclass
class Simulation:
    """One simulation job: the photo, the options and every stage's result.

    Results are ``None`` until their stage has run. ``treatment_share`` is the share of
    the final density wanted in each cell of the work grid (``regions.cell_px`` photo
    pixels per cell): 0 outside the treatment area, ramping up behind the hairline and at
    feathered edges, 1 where it is full.
    """

    image: np.ndarray
    image_format: str
    options: SimulationOptions
    faces: list[FaceKeypoints] = field(default_factory=list)
    keypoints: FaceKeypoints | None = None
    regions: Regions | None = None
    close_up: bool = False
    scale: Scale | None = None
    head: HeadModel | None = None
    hairline: Hairline | None = None
    treatment_mask: np.ndarray | None = None
    treatment_share: np.ndarray | None = None
    treatment_area_cm2: float = 0.0
    mask_source: str = ""
    final_density_per_cm2: float = 0.0
    skin: SkinMeasurement | None = None
    dot_ratio_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    dot_look: DotLook | None = None
    impressions: Impressions | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    stage_warnings: dict[str, list[str]] = field(default_factory=dict)
    running: str = ""
    """The stage running now (its warnings are filed under it)."""
    lazy: bool = False
    """Render a session, the before/after and the overlay only when they are asked for
    (:meth:`session_image`), not in the ``render`` and ``compose`` stages: the web
    editor shows one session at a time, and rendering the others on every edit would
    triple its cost. The pixels are the same either way."""
    compose_on_write: bool = False
    """Leave the before/after and the overlay to :meth:`write`, which composes them
    while the sessions are being encoded (OpenCV's encoders release the GIL, so the two
    overlap on a second core); the ``compose`` time is then counted when they are
    composed. The pixels are the same either way."""
    rendered: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    """Session images rendered so far, by session number (1-based)."""
    composed: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """``before_after`` and ``overlay`` once composed."""
    overlay_ahead: _OverlayAhead | None = field(default=None, repr=False)
    """With :attr:`compose_on_write`, the overlay composed as soon as the treatment
    stage has run (it needs nothing later) and its PNG being encoded on a thread of its
    own meanwhile: the longest encoding of :meth:`write`, done while the impressions
    are placed and rendered."""
    memo: dict[str, tuple[tuple[Any, ...], Any]] = field(default_factory=dict, repr=False)
    """Intermediate results a stage can reuse while their inputs are the same objects
    (see :meth:`_reuse`): a brush stroke re-runs the treatment stage, not the hairline's
    density ramp behind it."""

    # -- running ------------------------------------------------------------------------

    def run(self, stages: Iterable[str] = STAGES, *, progress: Progress | None = None) -> None:
        """Run ``stages`` (in pipeline order), each replacing its earlier result."""
        wanted = set(stages)
        for index, name in enumerate(STAGES):
            if name not in wanted:
                continue
            if progress is not None:
                progress(name, index, len(STAGES))
            start = time.perf_counter()
            self.stage_warnings[name] = []
            self.running = name
            _STAGE_FUNCTIONS[name](self)
            self.timings_ms[name] = (time.perf_counter() - start) * 1e3
            if name == "treatment":
                self.overlay_ahead = _overlay_ahead(self) if self.compose_on_write else None
        if progress is not None:
            progress("done", len(STAGES), len(STAGES))

    def update(self, *, progress: Progress | None = None, **changes: Any) -> list[str]:
        """Change options and re-run what depends on them; returns the stages re-run.

        ``changes`` are fields of :class:`SimulationOptions`; a path given as ``mask``
        is loaded as with :func:`simulate`.
        """
        if "mask" in changes and changes["mask"] is not None:
            changes["mask"] = _mask_array(changes["mask"], self.image.shape[:2])
        try:
            options = dataclasses.replace(self.options, **changes)
        except TypeError as exc:
            raise PointillistError(f"unknown simulation option: {exc}") from None
        options.check((self.image.shape[1], self.image.shape[0]))
        stages = stages_to_rerun(options.changed(self.options))
        # Stages replace their results rather than mutate them, so a shallow copy is
        # enough to leave the simulation as it was when an edit cannot be honoured.
        saved = dict(vars(self))
        saved["timings_ms"] = dict(self.timings_ms)
        saved["stage_warnings"] = dict(self.stage_warnings)
        self.options = options
        try:
            self.run(stages, progress=progress)
        except PointillistError:
            vars(self).update(saved)
            raise
        return [s for s in STAGES if s in stages]

    def _reuse(self, name: str, inputs: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()``, or its last result if ``inputs`` are the same objects (stages
        replace their results rather than mutate them, so identity means unchanged) or
        equal numbers."""
        kept = self.memo.get(name)
        if (
            kept is not None
            and len(kept[0]) == len(inputs)
            and all(
                a is b or (isinstance(a, int | float) and a == b)
                for a, b in zip(kept[0], inputs, strict=True)
            )
        ):
            return kept[1]
        value = compute()
        self.memo[name] = (inputs, value)
        return value

    # -- results ------------------------------------------------------------------------

    @property
    def sessions(self) -> int:
        return 0 if self.impressions is None else self.impressions.n_sessions

    def session_image(self, k: int) -> np.ndarray:
        """The photo after session ``k`` (1-based), rendered now if it is not yet."""
        from pointillist.imaging.render import render_impressions

        course = self.impressions
        if course is None:
            raise PointillistError("nothing to show yet: run the simulation first")
        if k not in self.rendered:
            self.rendered[k] = render_impressions(
                self.image, course.up_to_session(k), look=self.dot_look
            )
        return self.rendered[k]

    @property
    def session_images(self) -> list[np.ndarray]:
        """The photo after each session, first to last."""
        return [self.session_image(k) for k in range(1, self.sessions + 1)]

    @property
    def before_after(self) -> np.ndarray | None:
        """The photo beside the last session (None before the pipeline has run)."""
        return self._composite("before_after")

    @property
    def overlay(self) -> np.ndarray | None:
        """The photo with the regions, treatment area and hairline drawn over it."""
        return self._composite("overlay")

    def _composite(self, name: str) -> np.ndarray | None:
        if name not in self.composed:
            if self.impressions is None or self.treatment_share is None:
                return None
            _compose_now(self)
        return self.composed[name]

    @property
    def warnings(self) -> list[str]:
        return [w for name in STAGES for w in self.stage_warnings.get(name, [])]

    @property
    def seed(self) -> int:
        return self.options.seed

    @property
    def years(self) -> float:
        return self.options.years

    def cumulative_impressions(self) -> list[int]:
        assert self.impressions is not None
        return self.impressions.cumulative_counts()

    def to_json(self) -> dict[str, Any]:
        """The ``simulation.json`` payload (file names relative to the output folder)."""
        assert self.scale is not None and self.head is not None
        counts = self.cumulative_impressions()
        area = self.treatment_area_cm2
        payload: dict[str, Any] = {
            "scale_mm_per_px": round(self.scale.mm_per_px, 5),
            "scale_source": self.scale.source,
            "scale_detail": self.scale.detail,
            "landmarks_found": self.keypoints is not None,
            "faces_found": len(self.faces),
            "face": None if self.keypoints is None else self.face_number(),
            "hairline": [] if self.hairline is None else self.hairline.to_json(),
            "treatment_area_cm2": round(area, 1),
            "final_density_per_cm2": round(self.final_density_per_cm2, 1),
            "sessions": [
                {"number": k, "impressions": counts[k - 1], "image": f"session_{k}.jpg"}
                for k in range(1, self.sessions + 1)
            ],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "image": {
                "width": int(self.image.shape[1]),
                "height": int(self.image.shape[0]),
                "format": self.image_format,
            },
            "before_after": "before_after.jpg",
            "overlay": "overlay.png",
            "treatment_area_source": self.mask_source,
            "head_model": self.head.to_json(),
            "skin": None if self.skin is None else _skin_json(self.skin),
            "dot_ratio_rgb": [round(v, 4) for v in self.dot_ratio_rgb],
            "shade": None if self.dot_look is None else self.dot_look.shade,
            "years": self.years,
            "seed": self.seed,
            "warnings": self.warnings,
        }
        if self.keypoints is not None:
            payload["landmarks"] = self.keypoints.to_json()
        if self.hairline is not None:
            hl = self.hairline
            payload["hairline_design"] = {
                "shape": hl.shape,
                "height_cm": hl.height_cm,
                "transition_band_mm": hl.transition_band_mm,
                "source": hl.source,
                "mid_frontal": None if hl.mid_frontal is None else _xy(hl.mid_frontal),
                "temple_right": None if hl.temple_right is None else _xy(hl.temple_right),
                "temple_left": None if hl.temple_left is None else _xy(hl.temple_left),
            }
        return payload

    def face_number(self) -> int:
        """The client's face, 1-based in the order of :attr:`faces` (largest first)."""
        return next((k for k, f in enumerate(self.faces, start=1) if f is self.keypoints), 1)

    def write(self, outdir: str | Path) -> dict[str, Any]:
        """Write the images and ``simulation.json`` into ``outdir``; return the JSON.

        The time spent encoding and writing is added to ``timings_ms["write"]`` (less
        the composing, with :attr:`compose_on_write`).
        """
        from pointillist.imaging.io import ImageEncoder

        if self.impressions is None or self.treatment_share is None:
            raise PointillistError("nothing to write yet: run the simulation first")
        start = time.perf_counter()
        out = Path(outdir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PointillistError(f"{out}: cannot write the outputs ({exc.strerror})") from None
        sessions = [(f"session_{k}.jpg", image) for k, image in enumerate(self.session_images, 1)]
        composing = 0.0
        ahead = self.overlay_ahead
        with ImageEncoder() as encoder:
            if self.composed and ahead is None:
                # The overlay first: its PNG takes longest.
                encoder.submit("overlay.png", self.composed["overlay"])
            for name, image in sessions:
                encoder.submit(name, image)
            if not self.composed:
                # Composed now, while the sessions encode.
                composing = time.perf_counter()
                _compose_now(self)
                composing = (time.perf_counter() - composing) * 1000.0
                if self.compose_on_write:
                    self.timings_ms["compose"] = composing + (
                        0.0 if ahead is None else ahead.compose_ms
                    )
                else:
                    composing = 0.0
                if ahead is None:
                    encoder.submit("overlay.png", self.composed["overlay"])
            encoder.submit("before_after.jpg", self.composed["before_after"])
            try:
                for name in [*(n for n, _ in sessions), "before_after.jpg"]:
                    (out / name).write_bytes(encoder.result(name))
                overlay = encoder.result("overlay.png") if ahead is None else ahead.png.result()
                (out / "overlay.png").write_bytes(overlay)
            except OSError as exc:
                raise PointillistError(
                    f"{out}: cannot write the outputs ({exc.strerror})"
                ) from None
        self.timings_ms["write"] = (time.perf_counter() - start) * 1000.0 - composing
        payload = self.to_json()
        (out / "simulation.json").write_text(
            json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return payload


def _rescale_keypoints(keypoints: FaceKeypoints, factor: float) -> FaceKeypoints:
    """Key points of a photo resized by ``factor``."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(keypoints):
        value = getattr(keypoints, f.name)
        if isinstance(value, tuple):
            changes[f.name] = (value[0] * factor, value[1] * factor)
        elif isinstance(value, np.ndarray | float) and f.name != "source":
            changes[f.name] = value * factor
    return dataclasses.replace(keypoints, **changes)


def stages_to_rerun(changed_options: Iterable[str]) -> set[str]:
    """The stages that read any of ``changed_options``, and every stage downstream."""
    changed = set(changed_options)
    dirty = {name for name, reads in STAGE_OPTIONS.items() if changed & set(reads)}
    for name in STAGES:
        if any(up in dirty for up in STAGE_INPUTS[name]):
            dirty.add(name)
    return dirty


def _xy(p: tuple[float, float]) -> list[float]:
    return [round(float(p[0]), 1), round(float(p[1]), 1)]


def _skin_json(skin: SkinMeasurement) -> dict[str, Any]:
    return {
        "lab": [round(float(v), 2) for v in skin.lab],
        "ita_deg": round(float(skin.ita_deg), 1),
        "category": skin.category,
        "fitzpatrick_estimate": int(skin.fitzpatrick_estimate),
        "caveat": skin.caveat,
    }


# -- entry point --------------------------------------------------------------------------


def prepare(
    photo: str | Path | bytes | np.ndarray,
    options: SimulationOptions | None = None,
    *,
    mask: str | Path | np.ndarray | None = None,
    landmarks: str | Path | FaceKeypoints | None = None,
) -> Simulation:
    """Load the photo and check the options: a :class:`Simulation` ready to :meth:`run`.

    ``mask`` (a PNG path or boolean array) and ``landmarks`` (a landmarks JSON file, see
    :func:`~pointillist.imaging.landmarks.load_landmarks`) are read here and stored in
    the options.
    """
    from pointillist.imaging.io import load_image

    start = time.perf_counter()
    options = SimulationOptions() if options is None else options
    if isinstance(photo, np.ndarray):
        if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
            raise PointillistError("the photo array must be (H, W, 3) uint8 sRGB")
        rgb, fmt = np.ascontiguousarray(photo), "array"
    else:
        loaded = load_image(photo)
        rgb, fmt = loaded.rgb, loaded.format
    height, width = rgb.shape[:2]
    if mask is not None:
        options = dataclasses.replace(options, mask=_mask_array(mask, (height, width)))
    if isinstance(landmarks, FaceKeypoints):
        options = dataclasses.replace(options, landmarks=landmarks)
    elif landmarks is not None:
        from pointillist.imaging.landmarks import load_landmarks

        options = dataclasses.replace(
            options, landmarks=load_landmarks(landmarks, image_size=(width, height))
        )
    options.check((width, height))
    sim = Simulation(image=rgb, image_format=fmt, options=options)
    sim.timings_ms["load"] = (time.perf_counter() - start) * 1e3
    return sim


def simulate(
    photo: str | Path | bytes | np.ndarray,
    *,
    mask: str | Path | np.ndarray | None = None,
    landmarks: str | Path | FaceKeypoints | None = None,
    progress: Progress | None = None,
    compose_on_write: bool = False,
    **options: Any,
) -> Simulation:
    """Simulate an SMP course on a photo of the client's head: every stage, once.

    Parameters
    ----------
    photo
        Path or bytes of a JPEG/PNG/WebP/HEIC photo, or an ``(H, W, 3)`` uint8 array.
    mask
        Treatment area given directly: a PNG path or a boolean array of the photo's
        size (white/True = treat).
    landmarks
        A landmarks JSON file (see :func:`~pointillist.imaging.landmarks.load_landmarks`)
        or key points, instead of detecting faces.
    progress
        Called as each stage starts (see :data:`Progress`).
    compose_on_write
        Leave the before/after and the overlay to :meth:`Simulation.write` (see
        :attr:`Simulation.compose_on_write`): for a caller that writes the outputs next.
    **options
        Fields of :class:`SimulationOptions` (``sessions``, ``hairline_height_cm``,
        ``mm_per_px``, ``seed``, ``years``...).
    """
    from pointillist.imaging.warmup import preload_kernels, preload_models

    if progress is not None:
        progress("load", 0, len(STAGES))
    try:
        opts = SimulationOptions(**options)
    except TypeError as exc:
        raise PointillistError(f"unknown simulation option: {exc}") from None
    preload_models(landmarker=detects_faces(opts, mask=mask, landmarks=landmarks))
    preload_kernels()
    sim = prepare(photo, opts, mask=mask, landmarks=landmarks)
    sim.compose_on_write = compose_on_write
    sim.run(STAGES[1:], progress=progress)
    return sim


# -- stages -------------------------------------------------------------------------------


def _stage_load(sim: Simulation) -> None:
    """The photo is decoded by :func:`prepare`; nothing to redo."""


def detects_faces(
    options: SimulationOptions,
    *,
    mask: object = None,
    landmarks: object = None,
) -> bool:
    """Whether a simulation with these options runs the face detector: not when the
    landmarks are given, nor for a top or back view, nor when a given area and scale
    leave nothing for a face to decide. ``mask`` and ``landmarks`` are those given to
    :func:`simulate` beside the options, if any."""
    if options.landmarks is not None or landmarks is not None or not options.detect_face:
        return False
    return (options.mask is None and mask is None) or options.mm_per_px is None


def _stage_landmarks(sim: Simulation) -> None:
    from pointillist.imaging.landmarks import choose_face, detect_faces

    opts = sim.options
    if opts.landmarks is not None:
        faces = [opts.landmarks]
    elif not detects_faces(opts):
        faces = []
    else:
        faces = detect_faces(sim.image)
        if not faces and opts.mask is None:
            # Nothing else here tells a head seen from above from a saucer seen from
            # above, so a faceless photo is treated only when the user says what it is.
            raise PointillistError(
                "no face in the photo, so no head was found: for a photo of the top or "
                "back of the head give --view top (or back), or give the treatment area "
                "with --mask"
            )
    sim.faces = faces
    sim.keypoints = None
    if faces:
        client = choose_face(faces, opts.face)
        sim.keypoints = faces[client]
        if len(faces) > 1:
            others = [k for k in range(1, len(faces) + 1) if k != client + 1]
            named = ", ".join(str(k) for k in others)
            _warn(
                sim,
                f"{len(faces)} faces in the photo: face {client + 1} "
                f"({'the largest' if client == 0 else 'as asked'}) is the client; "
                f"face{'s' if len(others) > 1 else ''} {named} "
                f"{'are' if len(others) > 1 else 'is'} left untreated "
                "(give --face N to pick another)",
            )


def _stage_regions(sim: Simulation) -> None:
    from pointillist.imaging import head as head_mod
    from pointillist.imaging.regions import regions_from_mask, segment_regions
    from pointillist.imaging.scale import choose_scale

    rgb, keypoints, given = sim.image, sim.keypoints, sim.options.mask
    prior: HeadModel | None = None
    if keypoints is not None and (sim.options.mm_per_px is not None or keypoints.iris_diameter_px):
        prior_scale = choose_scale(
            mm_per_px=sim.options.mm_per_px,
            head_width_mm=None,
            head_width_px=None,
            iris_diameter_px=keypoints.iris_diameter_px,
        )
        prior = head_mod.fit_frontal(keypoints, prior_scale.mm_per_px)
    regions: Regions | None
    try:
        regions = segment_regions(
            rgb,
            keypoints=keypoints,
            outline=None if prior is None else prior.outline,
            faces=sim.faces,
        )
    except PointillistError:
        if given is None:
            raise
        regions = None
    close_up = keypoints is None and given is not None and _is_close_up(sim, regions, given)
    if (
        keypoints is None
        and given is None
        and regions is not None
        and regions.background_skin_share > 0.5
    ):
        raise PointillistError(
            "no head outline in the photo: the scalp seems to fill the frame (a "
            "close-up); give --mask with the treatment area and --mm-per-px"
        )
    if close_up or regions is None:
        assert given is not None
        regions = regions_from_mask(rgb, given)
        close_up = True
        _warn(
            sim,
            "no head outline in the photo (a close-up): the scalp is treated as flat "
            "and the mask as the only scalp",
        )
    sim.regions = regions
    sim.close_up = close_up


def _stage_head(sim: Simulation) -> None:
    from pointillist.imaging import head as head_mod
    from pointillist.imaging.scale import choose_scale

    regions, keypoints, opts = sim.regions, sim.keypoints, sim.options
    assert regions is not None
    height, width = sim.image.shape[:2]
    if keypoints is not None:
        head_width_px = keypoints.face_width_px / float(
            load_table("head")["ellipsoid"]["face_to_head_breadth"]
        )
        scale = choose_scale(
            mm_per_px=opts.mm_per_px,
            head_width_mm=opts.head_width_mm,
            head_width_px=head_width_px,
            iris_diameter_px=keypoints.iris_diameter_px,
        )
        if scale.source == "head_width":
            # Re-measure the width on the outline now that a scale exists.
            first = head_mod.fit_frontal(
                keypoints, scale.mm_per_px, regions.foreground, cell_px=regions.cell_px
            )
            scale = choose_scale(
                mm_per_px=None,
                head_width_mm=opts.head_width_mm,
                head_width_px=2.0 * first.outline.semi_axes[0],
                iris_diameter_px=None,
            )
        head = head_mod.fit_frontal(
            keypoints, scale.mm_per_px, regions.foreground, cell_px=regions.cell_px
        )
    elif sim.close_up:
        scale = choose_scale(
            mm_per_px=opts.mm_per_px,
            head_width_mm=opts.head_width_mm,
            head_width_px=None,
            iris_diameter_px=None,
        )
        head = head_mod.flat_head(width, height, scale.mm_per_px)
    else:
        outline = head_mod.fit_silhouette_ellipse(regions.foreground, cell_px=regions.cell_px)
        scale = choose_scale(
            mm_per_px=opts.mm_per_px,
            head_width_mm=opts.head_width_mm,
            head_width_px=outline.width_px,
            iris_diameter_px=None,
        )
        head = head_mod.fit_silhouette(outline, scale.mm_per_px)
    sim.scale, sim.head = scale, head


def _stage_hairline(sim: Simulation) -> None:
    from pointillist.imaging import hairline as hairline_mod

    opts, keypoints, head = sim.options, sim.keypoints, sim.head
    assert head is not None
    hairline: Hairline | None = None
    if opts.hairline_points is not None:
        hairline = hairline_mod.hairline_from_points(
            opts.hairline_points,
            behind=(0.0, -1.0) if keypoints is None else (keypoints.up[0], keypoints.up[1]),
            transition_band_mm=opts.transition_band_mm,
        )
    elif keypoints is not None:
        hairline = hairline_mod.design_hairline(
            keypoints,
            head,
            height_cm=opts.hairline_height_cm,
            shape=opts.hairline_shape,
            transition_band_mm=opts.transition_band_mm,
            anchors=opts.hairline_anchors,
            seed=opts.seed,
        )
        near_top = float(hairline_mod.hairline_table()["surface"]["near_top_share"])
        if hairline.rise_share is not None and hairline.rise_share > near_top:
            _warn(
                sim,
                f"the hairline sits {hairline.rise_share:.0%} of the way from the brows to the "
                "top of the visible head, near the top: check that the photo is taken at eye "
                "level with the whole head in frame, or lower --hairline-height-cm",
            )
    sim.hairline = hairline


def _stage_treatment(sim: Simulation) -> None:
    from pointillist.imaging import hairline as hairline_mod
    from pointillist.imaging.regions import brow_line_fade

    regions, head, scale, hairline = sim.regions, sim.head, sim.scale, sim.hairline
    assert regions is not None and head is not None and scale is not None
    opts = sim.options
    rules = hairline_mod.hairline_table()["regions"]
    grid = regions.shape
    cell = regions.cell_px
    feather_cells = float(rules["feather_mm"]) / (scale.mm_per_px * cell)
    ramp: np.ndarray | None = None
    if opts.mask is not None:
        area_mask = _mask_cells(sim, opts.mask, regions)
        support = area_mask
        mask_source = "mask"
    else:
        open_scalp = regions.treatable_scalp(scale.mm_per_px)
        if hairline is not None:
            fields = sim._reuse(
                "grid_fields",
                (head, regions, opts.seed),
                lambda: hairline_mod.grid_fields(head, grid, cell, seed=opts.seed),
            )
            ramp = sim._reuse(
                "hairline_density",
                (hairline, head, regions, opts.seed),
                lambda: hairline_mod.hairline_density(
                    hairline, head, grid, cell, seed=opts.seed, fields=fields
                ),
            )
            area_mask = open_scalp & hairline.behind_mask(grid, cell)
            # The support also holds the fringe of single impressions ahead of the line.
            support = open_scalp & (ramp > 0)
            mask_source = "hairline and regions"
        else:
            area_mask = support = open_scalp
            mask_source = "regions"
    added: np.ndarray | None = None
    if opts.area_add is not None:
        added = _edit_on_grid(opts.area_add, grid)
        area_mask, support = area_mask | added, support | added
        if ramp is not None:
            # Painted-in scalp gets the full density, even ahead of the designed line.
            ramp = np.where(added, 1.0, ramp).astype(np.float32)
        mask_source += ", edited"
    if opts.area_remove is not None:
        removed = _edit_on_grid(opts.area_remove, grid)
        area_mask, support = area_mask & ~removed, support & ~removed
        if not mask_source.endswith("edited"):
            mask_source += ", edited"
    share = feather(support.astype(np.float32), feather_cells)
    if ramp is not None:
        share = share * ramp
    if opts.mask is None and sim.keypoints is not None:
        # The sides end in a taper above the brows' line, not a straight cut (painted-in
        # scalp keeps what the practitioner painted).
        fade = brow_line_fade(sim.keypoints, grid, cell, scale.mm_per_px)
        if added is not None:
            fade = np.where(added, 1.0, fade)
        share = share * fade
    area_cm2 = head.surface_area_mm2(area_mask.astype(np.float32), pixel_size=cell) / 100.0
    if area_cm2 < 0.5:
        _warn(
            sim,
            "the treatment area is almost empty: no bare scalp (behind the hairline, on a "
            "frontal photo) that is not already dense with hair; give --mask to choose "
            "the area",
        )
    sim.treatment_mask = area_mask
    sim.treatment_share = share.astype(np.float32)
    sim.treatment_area_cm2 = area_cm2
    sim.mask_source = mask_source


def _stage_skin(sim: Simulation) -> None:
    from pointillist.color import measure_skin
    from pointillist.color.look import default_look, dot_look, with_shade

    assert sim.regions is not None
    sim.skin = None
    look = default_look()
    try:
        sim.skin = _measure(sim.image, sim.keypoints, sim.regions, measure_skin)
        look = dot_look(sim.skin.lab, years=sim.options.years)
    except PointillistError as exc:
        # A photo whose skin colour cannot be read (colour cast, no bare skin) still
        # gets a preview, in the default shade, and says so.
        _warn(sim, f"skin colour not used ({exc}); default dot colour shown")
    if sim.options.shade is not None and sim.skin is not None and look.shade is not None:
        look = with_shade(
            look,
            sim.skin.lab,
            sim.options.shade,
            years=sim.options.years,
            pigments_override=sim.options.pigments,
        )
    elif sim.options.shade is not None:
        _warn(sim, f"shade {sim.options.shade} not shown: no skin colour to draw it on")
    sim.dot_look = look
    sim.dot_ratio_rgb = look.ratio_rgb


def _stage_impressions(sim: Simulation) -> None:
    import cv2

    from pointillist.imaging.impressions import cumulative_fractions_for, plan_impressions

    regions, head, scale, share = sim.regions, sim.head, sim.scale, sim.treatment_share
    assert regions is not None and head is not None and scale is not None and share is not None
    opts = sim.options
    plan = load_table("plan")
    fractions = cumulative_fractions_for(opts.session_count(), plan=plan)
    height, width = sim.image.shape[:2]
    cell = regions.cell_px
    final_per_cm2 = float(plan["density"]["final_per_cm2"]) * opts.density
    factor = max(1, int(SAMPLE_CELL_MM / scale.mm_per_px))
    sh, sw = max(1, height // factor), max(1, width // factor)
    density = regrid(share, cell, factor, (sh, sw), cv2.INTER_LINEAR)
    # Impressions only where the treatment share is positive (no halo from the
    # interpolation), and with a given mask only in cells wholly inside it.
    density *= regrid((share > 0).astype(np.float32), cell, factor, (sh, sw), cv2.INTER_NEAREST)
    if opts.mask is not None:
        density *= all_in_blocks(opts.mask, factor, (sh, sw))
    density *= np.float32(final_per_cm2 / 100.0)
    metric = sim._reuse(
        "metric_field",
        (head, sh, sw, factor),
        lambda: head.metric_field(sh, sw, cell_px=float(factor), step=4),
    )
    course = plan_impressions(
        density, metric_mm2_per_px2=metric, seed=opts.seed, cumulative_fractions=fractions
    )
    sim.impressions = _to_photo_pixels(course, factor)
    sim.final_density_per_cm2 = final_per_cm2


def _stage_render(sim: Simulation) -> None:
    from pointillist.imaging.render import render_sessions

    course = sim.impressions
    assert course is not None
    # A new dict, not a cleared one: Simulation.update restores the old results (the
    # same dict object) when an edit cannot be honoured.
    sim.rendered = {}
    if not sim.lazy:
        # Every session in one pass over the dots (the same pixels as one at a time).
        images = render_sessions(sim.image, course, look=sim.dot_look)
        sim.rendered = {k: image for k, image in enumerate(images, start=1)}


def _stage_compose(sim: Simulation) -> None:
    sim.composed = {}
    if not (sim.lazy or sim.compose_on_write):
        _compose_now(sim)


def _compose_now(sim: Simulation) -> None:
    composed = {
        "before_after": compose_before_after(
            sim.image, sim.session_image(sim.sessions), sim.sessions
        )
    }
    ahead = sim.overlay_ahead
    composed["overlay"] = _compose_overlay(sim) if ahead is None else ahead.image
    sim.composed = composed


def _compose_overlay(sim: Simulation) -> np.ndarray:
    assert sim.regions is not None and sim.treatment_mask is not None
    assert sim.treatment_share is not None
    return compose_overlay(
        sim.image,
        sim.regions,
        sim.treatment_mask,
        sim.treatment_share,
        sim.hairline,
        sim.treatment_area_cm2,
        faces=sim.faces,
        client_face=sim.face_number() if sim.keypoints is not None else None,
    )


@dataclass(frozen=True)
class _OverlayAhead:
    """The overlay composed right after the treatment stage, and its PNG encoding."""

    image: np.ndarray
    png: Future[bytes]
    compose_ms: float


def _overlay_ahead(sim: Simulation) -> _OverlayAhead:
    """Compose the overlay now and start encoding it on a thread of its own.

    The overlay shows the regions, the treatment area and the hairline: nothing the
    later stages change. Its PNG is the longest of the encodings :meth:`Simulation.write`
    waits for (a tenth of a second for a 2.6 MP photo, on one core); started here, it
    runs while the skin is measured and the impressions placed and rendered.
    """
    from concurrent.futures import ThreadPoolExecutor

    from pointillist.imaging.io import encode_png

    start = time.perf_counter()
    image = _compose_overlay(sim)
    compose_ms = (time.perf_counter() - start) * 1e3
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="overlay-png")
    png = pool.submit(encode_png, image)
    pool.shutdown(wait=False)  # its thread ends with the encoding
    return _OverlayAhead(image=image, png=png, compose_ms=compose_ms)


_STAGE_FUNCTIONS: dict[str, Callable[[Simulation], None]] = {
    "load": _stage_load,
    "landmarks": _stage_landmarks,
    "regions": _stage_regions,
    "head": _stage_head,
    "hairline": _stage_hairline,
    "treatment": _stage_treatment,
    "skin": _stage_skin,
    "impressions": _stage_impressions,
    "render": _stage_render,
    "compose": _stage_compose,
}


def _warn(sim: Simulation, message: str) -> None:
    sim.stage_warnings.setdefault(sim.running, []).append(message)


def _edit_on_grid(edit: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """A painted edit (any size: the editor paints on a reduced copy) on the work grid."""
    return mask_on_grid(edit, grid)


def _mask_cells(sim: Simulation, mask: np.ndarray, regions: Regions) -> np.ndarray:
    """The given treatment mask on the work grid (worked out once per mask and grid)."""
    return np.asarray(
        sim._reuse("mask_cells", (mask, regions), lambda: mask_on_grid(mask, regions.shape))
    )


def _is_close_up(sim: Simulation, regions: Regions | None, mask: np.ndarray) -> bool:
    """Whether the head's outline is missing: the found head misses much of the mask."""
    if regions is None:
        return True
    grid = _mask_cells(sim, mask, regions)
    outside = int((grid & ~regions.foreground).sum())
    return outside > 0.3 * max(int(grid.sum()), 1)


def _mask_array(mask: str | Path | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A treatment mask given as a PNG path or an array, checked against the photo."""
    height, width = shape
    if isinstance(mask, np.ndarray):
        if mask.shape != (height, width):
            raise PointillistError(
                f"the mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {width}x{height}"
            )
        arr = mask.astype(bool)
        if not arr.any():
            raise PointillistError("the mask is empty; mark the treatment area")
        return arr
    from pointillist.imaging.io import load_mask

    return load_mask(mask, image_size=(width, height))


def _to_photo_pixels(course: Impressions, factor: int) -> Impressions:
    """Impressions sampled on a grid ``factor`` pixels wide, in photo pixels."""
    if factor == 1:
        return course
    return dataclasses.replace(
        course,
        xy=course.xy * float(factor),
        semi_axes_px=(course.semi_axes_px * np.float32(factor)).astype(np.float32),
    )


def _measure(
    rgb: np.ndarray,
    keypoints: FaceKeypoints | None,
    regions: Regions,
    measure_skin: Callable[..., SkinMeasurement],
) -> SkinMeasurement:
    """Skin colour from the forehead seed (or the head's skin) on a subsampled photo."""
    import cv2

    stride = max(1, int(regions.cell_px // 2))
    sub = np.ascontiguousarray(rgb[::stride, ::stride])
    h, w = sub.shape[:2]
    source = regions.seed_mask if keypoints is not None else regions.skin
    mask = cv2.resize(source.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return measure_skin(sub, mask)


DEMO_SUBJECTS = ("front-bald-n6-light", "front-bald-n6-dark", "top_view")
"""What :func:`demo_simulation` simulates, in order; the first is written to the output
folder itself, the others to sub-folders of the same name."""


def demo_simulation(outdir: Path, *, progress: Progress | None = None) -> Simulation:
    """The demo: two bald clients, light and dark skin, and a crown photo.

    The two frontal photos are official portraits, public domain (US federal government
    works), shipped in ``pointillist/data/demo`` (credits there): face, scale from the
    iris, every region, the hairline on the head, the dots for each skin. There is no
    public-domain crown photo, so the top view is the project's synthetic head, with its
    known scale. ``progress`` is called for each run in the order of
    :data:`DEMO_SUBJECTS`, each ending with ``"done"``.

    Returns the first simulation; all are written with :meth:`Simulation.write`.
    """
    from importlib import resources

    from pointillist.imaging.synthetic import synthetic_top_view

    outdir = Path(outdir)
    demo = resources.files("pointillist") / "data" / "demo"
    first: Simulation | None = None
    for k, name in enumerate(DEMO_SUBJECTS[:2]):
        sim = simulate(demo.joinpath(f"{name}.jpg").read_bytes(), seed=1, progress=progress)
        sim.write(outdir if k == 0 else outdir / name)
        first = first or sim
    top = synthetic_top_view(width=1500, height=1800, mm_per_px=0.14, seed=4)
    simulate(top.rgb, mm_per_px=top.mm_per_px, detect_face=False, seed=1, progress=progress).write(
        outdir / "top_view"
    )
    assert first is not None
    return first
