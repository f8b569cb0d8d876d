"""Render the simulation figures of README.md and docs/simulation.md.

Run from the repository root: ``.venv/bin/python docs/images/simulation_figures.py``.
Every picture is made by pointillist itself, with default options unless a caption says
otherwise, from the public-domain portraits in ``tests/fixtures/preview`` (official
portraits, US federal government works) and from the project's synthetic heads.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pointillist.imaging.io import load_image, save_image
from pointillist.imaging.simulate import Simulation, simulate
from pointillist.imaging.synthetic import synthetic_top_view

HERE = Path(__file__).resolve().parent
PORTRAITS = HERE.parent.parent / "tests" / "fixtures" / "preview"
WHITE = 255


def _portrait(name: str) -> np.ndarray:
    return load_image(PORTRAITS / f"{name}.jpg").rgb


def _fit_width(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    if w == width:
        return image
    return cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    size = max(0.45, out.shape[1] / 700)
    thick = max(1, round(size * 1.6))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, thick)
    pad = th // 2
    cv2.rectangle(out, (0, 0), (tw + 2 * pad, th + base + 2 * pad), (0, 0, 0), -1)
    cv2.putText(
        out, text, (pad, th + pad), cv2.FONT_HERSHEY_SIMPLEX, size, (255, 255, 255), thick,
        cv2.LINE_AA,
    )  # fmt: skip
    return out


def _head_box(sim: Simulation, margin: float = 0.35) -> tuple[int, int, int, int]:
    """A box around the client's head: from above the scalp to below the chin."""
    kp = sim.keypoints
    assert kp is not None
    h, w = sim.image.shape[:2]
    face = kp.face_width_px
    cx = kp.glabella[0]
    top = max(0, int(kp.glabella[1] - 0.95 * face))
    bottom = min(h, int(kp.chin[1] + margin * face))
    half = int(0.5 * (bottom - top) * 0.85)
    left, right = max(0, int(cx - half)), min(w, int(cx + half))
    return left, top, right, bottom


def _pair(sim: Simulation, width: int) -> np.ndarray:
    x0, y0, x1, y1 = _head_box(sim)
    before = _fit_width(sim.image[y0:y1, x0:x1], width)
    after = _fit_width(sim.session_images[-1][y0:y1, x0:x1], width)
    gap = np.full((before.shape[0], 6, 3), WHITE, np.uint8)
    return np.concatenate([_label(before, "before"), gap, _label(after, "after 4 sessions")], 1)


def _stack(rows: list[np.ndarray], gap: int = 10) -> np.ndarray:
    width = max(r.shape[1] for r in rows)
    parts = []
    for row in rows:
        pad = np.full((row.shape[0], width - row.shape[1], 3), WHITE, np.uint8)
        parts += [np.concatenate([row, pad], 1), np.full((gap, width, 3), WHITE, np.uint8)]
    return np.concatenate(parts[:-1], 0)


def before_after_portraits() -> dict[str, Simulation]:
    """Four clients, light to dark skin, Norwood 5 to 7: the README's opening picture."""
    names = ["K000377_bald_n7", "M000312_balding_n5", "C001072_bald_medium", "W000790_bald_n6_dark"]
    sims = {name: simulate(_portrait(name), seed=1) for name in names}
    pairs = [_pair(sims[name], 300) for name in names]
    height = min(p.shape[0] for p in pairs)
    pairs = [p[:height] for p in pairs]
    gap = np.full((height, 16, 3), WHITE, np.uint8)
    grid = _stack(
        [np.concatenate([pairs[0], gap, pairs[1]], 1), np.concatenate([pairs[2], gap, pairs[3]], 1)]
    )
    save_image(HERE / "simulation_before_after.jpg", grid, quality=90)
    return sims


def sessions_and_closeup() -> None:
    """The course in layers, and the dots at full size where the line meets the skin."""
    sim = simulate(_portrait("R000618_bald_n6"), seed=2)
    kp = sim.keypoints
    assert kp is not None and sim.hairline is not None
    face = kp.face_width_px
    x0 = int(kp.glabella[0] - 0.55 * face)
    y0 = max(0, int(kp.glabella[1] - 0.8 * face))
    size = int(1.1 * face)
    panels = []
    counts = sim.cumulative_impressions()
    for k, image in enumerate([sim.image, *sim.session_images]):
        crop = _fit_width(image[y0 : y0 + size // 2, x0 : x0 + size], 330)
        text = "before" if k == 0 else f"session {k}: {counts[k - 1]:,} dots"
        panels += [_label(crop, text), np.full((crop.shape[0], 6, 3), WHITE, np.uint8)]
    strip = np.concatenate(panels[:-1], 1)
    save_image(HERE / "simulation_sessions.png", strip)
    # 1:1 pixels at the mid-frontal point: single impressions ahead of the line, the
    # density building up behind it.
    mx, my = (int(v) for v in sim.hairline.mid_frontal)
    half = 110
    crops = [
        _label(image[my - half : my + half // 2, mx - half : mx + half], text)
        for image, text in ((sim.image, "before"), (sim.session_images[-1], "after"))
    ]
    big = [cv2.resize(c, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST) for c in crops]
    gap = np.full((big[0].shape[0], 8, 3), WHITE, np.uint8)
    save_image(HERE / "simulation_closeup.png", np.concatenate([big[0], gap, big[1]], 1))
    save_image(HERE / "simulation_overlay_frontal.jpg", _fit_width(sim.overlay, 640), quality=88)


def group_photo() -> None:
    """Two people in one photo: faces numbered, the client chosen, the other left alone."""
    left = _portrait("S000344_bald_n6")
    right = cv2.resize(_portrait("C000141_bald_n7"), (left.shape[1] * 9 // 10, left.shape[0] * 9 // 10))
    canvas = np.full((left.shape[0], left.shape[1] + right.shape[1], 3), 0, np.uint8)
    canvas[:, : left.shape[1]] = left
    canvas[-right.shape[0] :, left.shape[1] :] = right
    canvas[: -right.shape[0], left.shape[1] :] = left[0, 0]
    sim = simulate(canvas, face=2, seed=1)
    save_image(HERE / "simulation_group_overlay.jpg", _fit_width(sim.overlay, 700), quality=88)


def top_view() -> None:
    """A crown photo has no face: the practitioner says so (--view top) and gives the scale."""
    head = synthetic_top_view(width=1500, height=1800, mm_per_px=0.14, seed=4)
    sim = simulate(head.rgb, mm_per_px=head.mm_per_px, detect_face=False, seed=3)
    pair = np.concatenate(
        [
            _label(_fit_width(sim.image, 420), "before"),
            np.full((round(1800 * 420 / 1500), 6, 3), WHITE, np.uint8),
            _label(_fit_width(sim.session_images[-1], 420), "after 4 sessions"),
        ],
        1,
    )
    save_image(HERE / "simulation_top_view.jpg", pair, quality=90)
    save_image(HERE / "simulation_overlay_top.jpg", _fit_width(sim.overlay, 420), quality=88)


if __name__ == "__main__":
    before_after_portraits()
    sessions_and_closeup()
    group_photo()
    top_view()
