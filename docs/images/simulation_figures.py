"""Render the simulation figures of README.md and docs/simulation.md.

Run from the repository root: ``.venv/bin/python docs/images/simulation_figures.py``.
Every picture is made by pointillist itself from public-domain or synthetic inputs.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from pointillist.imaging.io import save_image
from pointillist.imaging.compose import compose_before_after
from pointillist.imaging.simulate import simulate
from pointillist.imaging.synthetic import synthetic_frontal, synthetic_top_view

HERE = Path(__file__).resolve().parent


def _fit_width(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= width:
        return image
    return cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    size = max(0.5, out.shape[0] / 700)
    thick = max(1, round(size * 2))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, thick)
    pad = th // 2
    cv2.rectangle(out, (0, 0), (tw + 2 * pad, th + base + 2 * pad), (0, 0, 0), -1)
    cv2.putText(
        out, text, (pad, th + pad), cv2.FONT_HERSHEY_SIMPLEX, size, (255, 255, 255), thick,
        cv2.LINE_AA,
    )  # fmt: skip
    return out


def top_view() -> None:
    head = synthetic_top_view(width=2100, height=2500, mm_per_px=0.1, seed=4)
    sim = simulate(head.rgb, mm_per_px=head.mm_per_px, detect_face=False, seed=3)
    save_image(HERE / "simulation_before_after.jpg", _fit_width(sim.before_after, 1400), quality=90)
    # Close-up at full resolution where the treated crown meets the existing hair.
    y, x, size = 1650, 560, 420
    crops = [
        _label(sim.image[y : y + size, x : x + size], "before"),
        _label(sim.session_images[-1][y : y + size, x : x + size], "after session 4"),
    ]
    gap = np.full((size, 8, 3), 255, np.uint8)
    save_image(HERE / "simulation_closeup.png", np.concatenate([crops[0], gap, crops[1]], axis=1))
    # The course builds density in layers: the same patch after each session.
    y, x, size = 1100, 900, 300
    panels = []
    counts = sim.cumulative_impressions()
    for k, image in enumerate(sim.session_images, start=1):
        panels.append(_label(image[y : y + size, x : x + size], f"session {k}: {counts[k - 1]:,}"))
        panels.append(np.full((size, 6, 3), 255, np.uint8))
    save_image(HERE / "simulation_sessions.png", np.concatenate(panels[:-1], axis=1))
    save_image(HERE / "simulation_overlay_top.jpg", _fit_width(sim.overlay, 700), quality=88)


def frontal() -> None:
    head = synthetic_frontal(width=1400, height=1800, mm_per_px=0.15, seed=2)
    sim = simulate(head.rgb, landmarks=head.keypoints, seed=5)
    y0, y1 = 0, 1050
    pair = compose_before_after(sim.image[y0:y1], sim.session_images[-1][y0:y1], 4)
    save_image(HERE / "simulation_frontal.jpg", _fit_width(pair, 1400), quality=90)
    save_image(HERE / "simulation_overlay_frontal.jpg", _fit_width(sim.overlay, 700), quality=88)
    y, x, size = 20, 420, 480
    crops = [
        _label(sim.image[y : y + size, x : x + size], "before"),
        _label(sim.session_images[-1][y : y + size, x : x + size], "after: the hairline"),
    ]
    gap = np.full((size, 8, 3), 255, np.uint8)
    save_image(HERE / "simulation_hairline.png", np.concatenate([crops[0], gap, crops[1]], axis=1))


def astronaut() -> None:
    sim = simulate(data.astronaut(), seed=1)
    save_image(HERE / "simulation_overlay_astronaut.png", sim.overlay)


if __name__ == "__main__":
    top_view()
    frontal()
    astronaut()
