"""The simulation pipeline: a client's photo in, a preview after every session out.

:func:`simulate` runs every stage and returns one :class:`Simulation` that carries the
result of each (landmarks, scale, regions, head model, hairline, treatment area,
impressions, rendered sessions, timings), so the CLI, the web app and the reports show
the same thing. :meth:`Simulation.write` writes the output contract of
``pointillist simulate``: ``session_1.jpg`` .. ``session_N.jpg``, ``before_after.jpg``,
``overlay.png`` and ``simulation.json``.

Stages and where they live:

1. safe loading (:mod:`~pointillist.imaging.io`);
2. face landmarks (:mod:`~pointillist.imaging.landmarks`), or none for top/back views;
3. regions: head, skin, existing hair (:mod:`~pointillist.imaging.regions`);
4. scale (:mod:`~pointillist.imaging.scale`) and the ellipsoid head
   (:mod:`~pointillist.imaging.head`);
5. hairline design and the treatment density (:mod:`~pointillist.imaging.hairline`);
6. skin colour and the healed dot's colour (:mod:`pointillist.color`);
7. impressions, cumulative per session (:mod:`~pointillist.imaging.impressions`);
8. rendering under the skin (:mod:`~pointillist.imaging.render`), before/after, overlay.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.imaging.hairline import Hairline
from pointillist.imaging.head import HeadModel
from pointillist.imaging.landmarks import FaceKeypoints
from pointillist.imaging.regions import Regions
from pointillist.imaging.scale import Scale

if TYPE_CHECKING:
    from pointillist.color import SkinMeasurement
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

SAMPLE_CELL_MM = 0.25
"""Impressions are sampled on a grid of about this many mm per cell (never finer than the
photo), then placed at full resolution: the density map is smooth at that scale."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, index, total)``: called as each stage starts, and once at the end
with ``stage = "done"``."""


@dataclass
class Simulation:
    """Everything one simulation produced; see the module docstring for the stages.

    ``treatment_share`` is the share of the final density wanted in each cell of the
    work grid (``regions.cell_px`` photo pixels per cell): 0 outside the treatment area,
    ramping up behind the hairline and at feathered edges, 1 where it is full.
    """

    image: np.ndarray
    image_format: str
    keypoints: FaceKeypoints | None
    scale: Scale
    regions: Regions
    head: HeadModel
    hairline: Hairline | None
    treatment_mask: np.ndarray
    treatment_share: np.ndarray
    treatment_area_cm2: float
    final_density_per_cm2: float
    impressions: Impressions
    skin: SkinMeasurement | None
    dot_ratio_rgb: tuple[float, float, float]
    years: float
    seed: int
    mask_source: str
    session_images: list[np.ndarray]
    before_after: np.ndarray
    overlay: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def sessions(self) -> int:
        return len(self.session_images)

    def cumulative_impressions(self) -> list[int]:
        return self.impressions.cumulative_counts()

    def to_json(self) -> dict[str, Any]:
        """The ``simulation.json`` payload (file names relative to the output folder)."""
        counts = self.cumulative_impressions()
        area = self.treatment_area_cm2
        payload: dict[str, Any] = {
            "scale_mm_per_px": round(self.scale.mm_per_px, 5),
            "scale_source": self.scale.source,
            "scale_detail": self.scale.detail,
            "landmarks_found": self.keypoints is not None,
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
            "years": self.years,
            "seed": self.seed,
            "warnings": list(self.warnings),
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

    def write(self, outdir: str | Path) -> dict[str, Any]:
        """Write the images and ``simulation.json`` into ``outdir``; return the JSON.

        The time spent encoding and writing is added to ``timings_ms["write"]``.
        """
        from pointillist.imaging.io import encode_jpeg, encode_png

        start = time.perf_counter()
        out = Path(outdir)
        try:
            out.mkdir(parents=True, exist_ok=True)
            for k, image in enumerate(self.session_images, start=1):
                (out / f"session_{k}.jpg").write_bytes(encode_jpeg(image))
            (out / "before_after.jpg").write_bytes(encode_jpeg(self.before_after))
            (out / "overlay.png").write_bytes(encode_png(self.overlay))
        except OSError as exc:
            raise PointillistError(f"{out}: cannot write the outputs ({exc.strerror})") from None
        self.timings_ms["write"] = (time.perf_counter() - start) * 1000.0
        payload = self.to_json()
        (out / "simulation.json").write_text(
            json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return payload


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


class _Clock:
    def __init__(self, progress: Progress | None) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name, STAGES.index(name), len(STAGES))
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + (time.perf_counter() - start) * 1e3


def simulate(
    photo: str | Path | bytes | np.ndarray,
    *,
    sessions: int | None = None,
    hairline_height_cm: float | None = None,
    hairline_shape: str | None = None,
    transition_band_mm: float | None = None,
    hairline_points: np.ndarray | None = None,
    mm_per_px: float | None = None,
    head_width_mm: float | None = None,
    mask: str | Path | np.ndarray | None = None,
    landmarks: str | Path | FaceKeypoints | None = None,
    detect_face: bool = True,
    seed: int = 0,
    years: float = 0.0,
    progress: Progress | None = None,
) -> Simulation:
    """Simulate an SMP course on a photo of the client's head.

    Parameters
    ----------
    photo
        Path or bytes of a JPEG/PNG/WebP/HEIC photo, or an ``(H, W, 3)`` uint8 array.
    sessions
        Number of sessions (``data/plan.toml``: 3 to 5; default 4).
    hairline_height_cm, hairline_shape, transition_band_mm
        Hairline design (frontal photos): mid-frontal point above the glabella
        (default 8 cm), ``rounded``/``straight``/``natural``, and the band over which
        density ramps up (default 15 mm).
    hairline_points
        ``(N, 2)`` pixels of a hairline drawn by the practitioner, used instead of the
        design; the scalp is on the side towards the top of the head.
    mm_per_px, head_width_mm
        The photo's scale, or the head's breadth in mm to derive it from; without
        either, the iris gives it.
    mask
        Treatment area given directly: a PNG path or a boolean array of the photo's
        size (white/True = treat).
    landmarks
        A landmarks JSON file (see :func:`~pointillist.imaging.landmarks.load_landmarks`)
        or key points, instead of detecting the face.
    detect_face
        Run MediaPipe when no landmarks are given (off for known top views).
    seed
        Seed of every random choice: the same inputs and seed give identical images.
    years
        Show the healed look this many years on (fading, blue drift).
    progress
        Called as each stage starts (see :data:`Progress`).
    """
    import cv2

    from pointillist.color import measure_skin
    from pointillist.color.look import default_look, dot_look
    from pointillist.imaging import hairline as hairline_mod
    from pointillist.imaging import head as head_mod
    from pointillist.imaging.impressions import cumulative_fractions_for, plan_impressions
    from pointillist.imaging.io import load_image
    from pointillist.imaging.landmarks import detect_landmarks, load_landmarks
    from pointillist.imaging.regions import load_mask, regions_from_mask, segment_regions
    from pointillist.imaging.render import render_impressions
    from pointillist.imaging.scale import check_head_width_mm, check_mm_per_px, choose_scale

    clock = _Clock(progress)
    warnings: list[str] = []
    plan = load_table("plan")
    n_sessions = int(plan["sessions"]["default_count"]) if sessions is None else int(sessions)
    fractions = cumulative_fractions_for(n_sessions, plan=plan)
    if not (np.isfinite(years) and 0.0 <= years <= 30.0):
        raise PointillistError(f"--years {years:g}: give 0 to 30 years after healing")
    if mm_per_px is not None:
        check_mm_per_px(mm_per_px)
    if head_width_mm is not None:
        check_head_width_mm(head_width_mm)
    if hairline_points is None:
        table = hairline_mod.hairline_table()["hairline"]
        hairline_mod.check_design(
            str(table["default_shape"]) if hairline_shape is None else hairline_shape,
            float(table["default_height_cm"]) if hairline_height_cm is None else hairline_height_cm,
            float(table["transition_band_mm"])
            if transition_band_mm is None
            else transition_band_mm,
        )

    with clock.stage("load"):
        if isinstance(photo, np.ndarray):
            if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
                raise PointillistError("the photo array must be (H, W, 3) uint8 sRGB")
            rgb, fmt = np.ascontiguousarray(photo), "array"
        else:
            loaded = load_image(photo)
            rgb, fmt = loaded.rgb, loaded.format
        height, width = rgb.shape[:2]
        given_mask = None
        if mask is not None:
            given_mask = _mask_array(mask, (width, height), load_mask)

    with clock.stage("landmarks"):
        keypoints: FaceKeypoints | None
        if isinstance(landmarks, FaceKeypoints):
            keypoints = landmarks
        elif landmarks is not None:
            keypoints = load_landmarks(landmarks, image_size=(width, height))
        elif detect_face:
            keypoints = detect_landmarks(rgb)
        else:
            keypoints = None

    with clock.stage("regions"):
        prior: HeadModel | None = None
        if keypoints is not None:
            prior_scale = (
                choose_scale(
                    mm_per_px=mm_per_px,
                    head_width_mm=None,
                    head_width_px=None,
                    iris_diameter_px=keypoints.iris_diameter_px,
                )
                if (mm_per_px is not None or keypoints.iris_diameter_px)
                else None
            )
            if prior_scale is not None:
                prior = head_mod.fit_frontal(keypoints, prior_scale.mm_per_px)
        regions: Regions | None
        try:
            regions = segment_regions(
                rgb, keypoints=keypoints, outline=None if prior is None else prior.outline
            )
        except PointillistError:
            if given_mask is None:
                raise
            regions = None
        close_up = (
            keypoints is None and given_mask is not None and _is_close_up(regions, given_mask)
        )
        if (
            keypoints is None
            and given_mask is None
            and regions is not None
            and regions.background_skin_share > 0.5
        ):
            raise PointillistError(
                "no head outline in the photo: the scalp seems to fill the frame (a "
                "close-up); give --mask with the treatment area and --mm-per-px"
            )
        if close_up or regions is None:
            assert given_mask is not None
            regions = regions_from_mask(rgb, given_mask)
            close_up = True
            warnings.append(
                "no head outline in the photo (a close-up): the scalp is treated as flat "
                "and the mask as the only scalp"
            )

    with clock.stage("head"):
        if keypoints is not None:
            head_width_px = keypoints.face_width_px / float(
                load_table("head")["ellipsoid"]["face_to_head_breadth"]
            )
            scale = choose_scale(
                mm_per_px=mm_per_px,
                head_width_mm=head_width_mm,
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
                    head_width_mm=head_width_mm,
                    head_width_px=2.0 * first.outline.semi_axes[0],
                    iris_diameter_px=None,
                )
            head = head_mod.fit_frontal(
                keypoints, scale.mm_per_px, regions.foreground, cell_px=regions.cell_px
            )
        elif close_up:
            scale = choose_scale(
                mm_per_px=mm_per_px,
                head_width_mm=head_width_mm,
                head_width_px=None,
                iris_diameter_px=None,
            )
            head = head_mod.flat_head(width, height, scale.mm_per_px)
        else:
            outline = head_mod.fit_silhouette_ellipse(regions.foreground, cell_px=regions.cell_px)
            scale = choose_scale(
                mm_per_px=mm_per_px,
                head_width_mm=head_width_mm,
                head_width_px=outline.width_px,
                iris_diameter_px=None,
            )
            head = head_mod.fit_silhouette(outline, scale.mm_per_px)

    with clock.stage("hairline"):
        hairline: Hairline | None = None
        if hairline_points is not None:
            hairline = hairline_mod.hairline_from_points(
                hairline_points,
                behind=(0.0, -1.0) if keypoints is None else (keypoints.up[0], keypoints.up[1]),
                transition_band_mm=transition_band_mm,
            )
        elif keypoints is not None:
            hairline = hairline_mod.design_hairline(
                keypoints,
                head,
                height_cm=hairline_height_cm,
                shape=hairline_shape,
                transition_band_mm=transition_band_mm,
                seed=seed,
            )

    with clock.stage("treatment"):
        rules = hairline_mod.hairline_table()["regions"]
        grid = regions.shape
        cell = regions.cell_px
        feather_cells = float(rules["feather_mm"]) / (scale.mm_per_px * cell)
        if given_mask is not None:
            area_mask = _to_grid(given_mask, grid) >= 0.5
            share = _feather(area_mask.astype(np.float32), feather_cells)
            mask_source = "mask"
        else:
            coverage = regions.hair_coverage(float(rules["hair_window_mm"]) / scale.mm_per_px)
            open_scalp = regions.foreground & (coverage < float(rules["dense_hair_coverage"]))
            if hairline is not None:
                ramp = hairline_mod.hairline_density(hairline, head, grid, cell, seed=seed)
                area_mask = open_scalp & hairline.behind_mask(grid, cell)
                share = _feather((open_scalp & (ramp > 0)).astype(np.float32), feather_cells)
                share = share * ramp
                mask_source = "hairline and regions"
            else:
                area_mask = open_scalp
                share = _feather(open_scalp.astype(np.float32), feather_cells)
                mask_source = "regions"
                if keypoints is None and detect_face:
                    warnings.append(
                        "no face found: every bare scalp of the head is treated; give "
                        "--mask to limit the treatment area"
                    )
        area_cm2 = head.surface_area_mm2(area_mask.astype(np.float32), pixel_size=cell) / 100.0
        if area_cm2 < 0.5:
            warnings.append(
                "the treatment area is almost empty: no bare scalp (behind the hairline, "
                "on a frontal photo) that is not already dense with hair; give --mask to "
                "choose the area"
            )

    with clock.stage("skin"):
        skin = None
        look = default_look()
        try:
            skin = _measure(rgb, keypoints, regions, measure_skin)
            look = dot_look(skin.lab, years=years)
        except PointillistError as exc:
            # A photo whose skin colour cannot be read (colour cast, no bare skin) still
            # gets a preview, in the default shade, and says so.
            warnings.append(f"skin colour not used ({exc}); default dot colour shown")

    with clock.stage("impressions"):
        final_per_cm2 = float(plan["density"]["final_per_cm2"])
        factor = max(1, int(SAMPLE_CELL_MM / scale.mm_per_px))
        sh, sw = max(1, height // factor), max(1, width // factor)
        density = _regrid(share, cell, factor, (sh, sw), cv2.INTER_LINEAR)
        # Impressions only where the treatment share is positive (no halo from the
        # interpolation), and with a given mask only in cells wholly inside it.
        density *= _regrid(
            (share > 0).astype(np.float32), cell, factor, (sh, sw), cv2.INTER_NEAREST
        )
        if given_mask is not None:
            inside = given_mask[: sh * factor, : sw * factor].reshape(sh, factor, sw, factor)
            density *= inside.all(axis=(1, 3))
        density *= np.float32(final_per_cm2 / 100.0)
        metric = head.metric_field(sh, sw, cell_px=float(factor), step=4)
        course = plan_impressions(
            density, metric_mm2_per_px2=metric, seed=seed, cumulative_fractions=fractions
        )
        course = _to_photo_pixels(course, factor)

    with clock.stage("render"):
        images = [
            render_impressions(rgb, course.up_to_session(k), look=look)
            for k in range(1, n_sessions + 1)
        ]

    with clock.stage("compose"):
        before_after = compose_before_after(rgb, images[-1], n_sessions)
        overlay = compose_overlay(rgb, regions, area_mask, share, hairline, area_cm2)

    if progress is not None:
        progress("done", len(STAGES), len(STAGES))
    return Simulation(
        image=rgb,
        image_format=fmt,
        keypoints=keypoints,
        scale=scale,
        regions=regions,
        head=head,
        hairline=hairline,
        treatment_mask=area_mask,
        treatment_share=share,
        treatment_area_cm2=area_cm2,
        final_density_per_cm2=final_per_cm2,
        impressions=course,
        skin=skin,
        dot_ratio_rgb=look.ratio_rgb,
        years=float(years),
        seed=int(seed),
        mask_source=mask_source,
        session_images=images,
        before_after=before_after,
        overlay=overlay,
        timings_ms=clock.timings,
        warnings=warnings,
    )


def _is_close_up(regions: Regions | None, mask: np.ndarray) -> bool:
    """Whether the head's outline is missing: the found head misses much of the mask."""
    if regions is None:
        return True
    grid = _to_grid(mask, regions.shape) >= 0.5
    outside = int((grid & ~regions.foreground).sum())
    return outside > 0.3 * max(int(grid.sum()), 1)


def _mask_array(
    mask: str | Path | np.ndarray, size: tuple[int, int], load_mask: Callable[..., np.ndarray]
) -> np.ndarray:
    width, height = size
    if isinstance(mask, np.ndarray):
        if mask.shape != (height, width):
            raise PointillistError(
                f"the mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {width}x{height}"
            )
        arr = mask.astype(bool)
        if not arr.any():
            raise PointillistError("the mask is empty; mark the treatment area")
        return arr
    return load_mask(str(mask), image_size=size)


def _to_grid(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(mask.astype(np.float32), (grid[1], grid[0]), interpolation=cv2.INTER_AREA)


def _regrid(
    grid: np.ndarray, cell_px: float, factor: int, shape: tuple[int, int], interpolation: int
) -> np.ndarray:
    """Resample a work-grid map (cells ``cell_px`` photo pixels wide) onto a grid of
    ``factor``-pixel cells starting at the photo's corner, pixel centres aligned."""
    import cv2

    k = factor / cell_px
    offset = 0.5 * k - 0.5
    matrix = np.array([[k, 0.0, offset], [0.0, k, offset]], dtype=np.float64)
    return np.asarray(
        cv2.warpAffine(
            grid.astype(np.float32),
            matrix,
            (shape[1], shape[0]),
            flags=interpolation | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        ),
        dtype=np.float32,
    )


def _upsample_window(
    grid: np.ndarray, cell_px: float, window: tuple[int, int, int, int]
) -> np.ndarray:
    """Bilinear upsampling of a work-grid map to the photo pixels of ``window``
    (``x0, y0, x1, y1``), pixel centres aligned as in a full-size resize."""
    import cv2

    x0, y0, x1, y1 = window
    k = 1.0 / cell_px
    matrix = np.array(
        [[k, 0.0, (x0 + 0.5) * k - 0.5], [0.0, k, (y0 + 0.5) * k - 0.5]], dtype=np.float64
    )
    return np.asarray(
        cv2.warpAffine(
            grid,
            matrix,
            (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
    )


def _feather(mask: np.ndarray, sigma_cells: float) -> np.ndarray:
    """Soften a mask's edge inwards: 0 outside, rising to 1 about two sigmas inside."""
    import cv2

    if sigma_cells < 0.3:
        return mask.astype(np.float32)
    blurred = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma_cells)
    # Keep the area: only the inner side of the edge fades, nothing spills outside.
    return np.asarray(np.clip((blurred - 0.5) * 2.0, 0.0, 1.0) * mask, dtype=np.float32)


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


def compose_before_after(before: np.ndarray, after: np.ndarray, sessions: int) -> np.ndarray:
    """The photo and the final session side by side, labelled, at the photo's height."""
    import cv2

    h, w = before.shape[:2]
    gap = max(4, w // 100)
    canvas = np.empty((h, 2 * w + gap, 3), np.uint8)
    canvas[:, w : w + gap] = 255
    canvas[:, :w] = before
    canvas[:, w + gap :] = after
    size = max(0.4, h / 900.0)
    thick = max(1, round(size * 2))
    for text, x0 in (("before", 0), (f"after session {sessions}", w + gap)):
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, thick)
        pad = max(3, th // 2)
        y = h - pad - base
        cv2.rectangle(canvas, (x0, y - th - pad), (x0 + tw + 2 * pad, h), (0, 0, 0), -1)
        cv2.putText(
            canvas,
            text,
            (x0 + pad, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            size,
            (255, 255, 255),
            thick,
            cv2.LINE_AA,
        )
    return canvas


OVERLAY_COLOURS = {
    "treatment": (0, 200, 180),
    "hair": (240, 150, 0),
    "hairline": (255, 255, 255),
    "keypoint": (255, 40, 40),
}


def compose_overlay(
    rgb: np.ndarray,
    regions: Regions,
    area_mask: np.ndarray,
    share: np.ndarray,
    hairline: Hairline | None,
    area_cm2: float,
) -> np.ndarray:
    """The photo with the treatment zone (shaded by density), existing hair and hairline."""
    import cv2

    h, w = rgb.shape[:2]
    # Tint and opacity are built on the work grid and blended at full resolution in
    # one pass: the zones are smooth, and a float pass over 12 MP would cost more than
    # the rest of the pipeline.
    # Hair is shown where it decides the treatment: behind the hairline (on a frontal
    # photo, the face's own texture below the line would only confuse).
    shown = regions.hair & ~area_mask
    if hairline is not None:
        shown &= hairline.behind_mask(regions.shape, regions.cell_px)
    hair = shown.astype(np.float32) * 0.35
    zone = share.astype(np.float32) * 0.55
    alpha = hair + zone * (1.0 - hair)
    weight_zone = np.where(alpha > 0, zone / np.maximum(alpha, 1e-6), 0.0)[..., None]
    treatment = np.asarray(OVERLAY_COLOURS["treatment"], dtype=np.float32)
    hair_colour = np.asarray(OVERLAY_COLOURS["hair"], dtype=np.float32)
    tint = weight_zone * treatment + (1.0 - weight_zone) * hair_colour
    tint_small = np.clip(np.rint(tint), 0, 255).astype(np.uint8)
    result = np.array(rgb, order="C", copy=True)
    cell = regions.cell_px
    rows, cols = np.nonzero(alpha > 0)
    if rows.size:
        # Blend only the window the zones cover (the head), not the whole frame.
        x0 = max(0, int(np.floor((cols.min() - 2) * cell)))
        y0 = max(0, int(np.floor((rows.min() - 2) * cell)))
        x1 = min(w, int(np.ceil((cols.max() + 3) * cell)))
        y1 = min(h, int(np.ceil((rows.max() + 3) * cell)))
        tint_win = _upsample_window(tint_small, cell, (x0, y0, x1, y1))
        alpha_win = _upsample_window(alpha.astype(np.float32), cell, (x0, y0, x1, y1))
        result[y0:y1, x0:x1] = cv2.blendLinear(
            np.ascontiguousarray(rgb[y0:y1, x0:x1]), tint_win, 1.0 - alpha_win, alpha_win
        )
    contours, _ = cv2.findContours(
        area_mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    contours = [
        np.rint(((c.astype(np.float64) + 0.5) * cell - 0.5) * 16).astype(np.int32) for c in contours
    ]
    thick = max(1, round(max(h, w) / 600))
    cv2.polylines(result, contours, True, OVERLAY_COLOURS["treatment"], thick, cv2.LINE_AA, 4)
    if hairline is not None:
        pts = np.rint(hairline.points * 16).astype(np.int32)
        cv2.polylines(result, [pts], False, OVERLAY_COLOURS["hairline"], thick + 1, cv2.LINE_AA, 4)
        for p in (hairline.mid_frontal, hairline.temple_right, hairline.temple_left):
            if p is not None:
                c = (round(p[0] * 16), round(p[1] * 16))
                cv2.circle(
                    result, c, (3 * thick + 2) * 16, OVERLAY_COLOURS["keypoint"], -1, cv2.LINE_AA, 4
                )
    size = max(0.35, max(h, w) / 2400.0)
    lines: list[tuple[str, tuple[int, int, int] | None]] = [
        (f"treatment area {area_cm2:.0f} cm2", None),
        ("treated (shade = density)", OVERLAY_COLOURS["treatment"]),
        ("existing hair or covered", OVERLAY_COLOURS["hair"]),
    ]
    if hairline is not None:
        lines.append(("hairline", OVERLAY_COLOURS["hairline"]))
    font = cv2.FONT_HERSHEY_SIMPLEX
    (_tw, th), base = cv2.getTextSize("Hg", font, size, thick)
    pad = max(3, th // 2)
    row = th + base + pad
    swatch = th
    width_px = max(cv2.getTextSize(t, font, size, thick)[0][0] for t, _c in lines)
    box_w = width_px + swatch + 4 * pad
    # Bottom left: the treatment zone is usually at the top of the picture.
    top = h - (row * len(lines) + pad)
    cv2.rectangle(result, (0, top), (box_w, h), (0, 0, 0), -1)
    for k, (text, colour) in enumerate(lines):
        y = top + pad + k * row + th
        x = pad
        if colour is not None:
            cv2.rectangle(result, (x, y - th), (x + swatch, y), colour, -1)
            x += swatch + pad
        cv2.putText(result, text, (x, y), font, size, (255, 255, 255), thick, cv2.LINE_AA)
    return result


DEMO_SUBJECTS = ("astronaut", "frontal", "top_view")
"""What :func:`demo_simulation` simulates, in order; the last two are written to
sub-folders of the same name."""


def demo_simulation(outdir: Path, *, progress: Progress | None = None) -> Simulation:
    """The demo: scikit-image's ``astronaut`` and two synthetic balding heads.

    ``astronaut`` (public domain, 512 px) shows the face side of the pipeline: landmarks,
    scale from the iris, hairline design, skin colour. She has a full head of hair, so
    almost nothing is treated, and at 1.35 mm per pixel a 0.45 mm impression would be a
    third of a pixel anyway. Two synthetic heads drawn at phone-photo resolution show
    the impressions: a frontal view with its landmarks (the designed hairline), written
    to ``outdir / "frontal"``, and a top view with a known scale, written to
    ``outdir / "top_view"``. ``progress`` is called for each of the three runs in the
    order of :data:`DEMO_SUBJECTS`, each ending with ``"done"``.

    Returns the astronaut simulation; all three are written with :meth:`Simulation.write`.
    """
    from skimage import data

    from pointillist.imaging.synthetic import synthetic_frontal, synthetic_top_view

    outdir = Path(outdir)
    sim = simulate(data.astronaut(), seed=1, progress=progress)  # type: ignore[no-untyped-call]
    sim.write(outdir)
    front = synthetic_frontal(width=1400, height=1800, mm_per_px=0.15, seed=2)
    simulate(front.rgb, landmarks=front.keypoints, seed=5, progress=progress).write(
        outdir / "frontal"
    )
    top = synthetic_top_view(width=1500, height=1800, mm_per_px=0.14, seed=4)
    simulate(top.rgb, mm_per_px=top.mm_per_px, detect_face=False, seed=1, progress=progress).write(
        outdir / "top_view"
    )
    return sim
