"""Render docs/images/pigment_dots.png: predicted healed dots on skin types I-VI.

Run from the repository root: ``.venv/bin/python docs/make_pigment_figure.py``.

Each tile is the model skin of one Fitzpatrick type with nine dots of the shade
``pointillist pigment`` recommends for it: the skin colour times the optical model's
reflectance ratio (:func:`pointillist.color.predict_dot`), in linear light. Rows: the
pigment placed at 0.25 mm and at 0.55 mm (healed), and at 0.55 mm five years on. The
last row is what ``pointillist simulate`` draws for that shade: a 10 mm patch at full
density (100 per cm2) with the look calibrated by the area
(:func:`pointillist.color.dot_look`), rendered by the simulator's own renderer.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pointillist.color import (
    delta_e00,
    dot_look,
    find_shade,
    predict_dot,
    recommend,
    skin_from_fitzpatrick,
)
from pointillist.color.dot import lab_to_linear_srgb
from pointillist.imaging.impressions import plan_impressions
from pointillist.imaging.render import render_impressions

ROMAN = ("I", "II", "III", "IV", "V", "VI")
ROWS = (
    (0.25, 0.0, "0.25 mm, healed"),
    (0.55, 0.0, "0.55 mm, healed"),
    (0.55, 5.0, "0.55 mm, 5 years on"),
)
TILE = 150
DOT_RADIUS = 11.0
PATCH_MM = 10.0


def _encode(linear: np.ndarray) -> np.ndarray:
    import colour

    return np.clip(colour.cctf_encoding(np.clip(linear, 0.0, 1.0), function="sRGB"), 0.0, 1.0)


def _tile(skin_lab: tuple[float, float, float], ratio: tuple[float, float, float]) -> np.ndarray:
    yy, xx = np.mgrid[0:TILE, 0:TILE].astype(float)
    coverage = np.zeros((TILE, TILE))
    for cy in (30, 75, 120):
        for cx in (30, 75, 120):
            distance = np.hypot(yy - cy, xx - cx)
            coverage = np.maximum(coverage, np.clip(DOT_RADIUS + 0.5 - distance, 0.0, 1.0))
    skin = lab_to_linear_srgb(skin_lab)
    factor = 1.0 - coverage[..., None] * (1.0 - np.asarray(ratio))
    return _encode(skin[None, None, :] * factor)


def _preview(skin_lab: tuple[float, float, float], shade: str, depth_mm: float) -> np.ndarray:
    look = dot_look(skin_lab, shade=shade, depth_mm=depth_mm)
    mm_per_px = PATCH_MM / TILE
    skin = np.rint(_encode(lab_to_linear_srgb(skin_lab)) * 255).astype(np.uint8)
    patch = np.broadcast_to(skin, (TILE, TILE, 3)).copy()
    density = np.ones((TILE, TILE), np.float32)  # 100 per cm2
    course = plan_impressions(density, metric_mm2_per_px2=mm_per_px**2, seed=3, sessions=4)
    drawn = render_impressions(patch, course.up_to_session(4), look=look)
    return drawn, look


def main() -> Path:
    fig, axes = plt.subplots(len(ROWS) + 1, 6, figsize=(11.5, 9.6))
    for col, n in enumerate(range(1, 7)):
        skin = skin_from_fitzpatrick(n)
        shade = recommend(skin.lab).best.healed.shade
        for row, (depth, years, label) in enumerate(ROWS):
            dot = predict_dot(skin.lab, find_shade(shade.id), depth, years)
            ax = axes[row, col]
            ax.imshow(_tile(skin.lab, dot.ratio), interpolation="none")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(
                f"ΔE00 {delta_e00(dot.lab, skin.lab):.1f}   blue {dot.blue_shift_deg:+.0f}°",
                fontsize=9.5,
            )
            if col == 0:
                ax.set_ylabel(label, fontsize=10.5)
            if row == 0:
                ax.set_title(
                    f"Type {ROMAN[n - 1]}  (ITA {skin.ita_deg:.0f}°)\n{shade.name}",
                    fontsize=10,
                )
        best = recommend(skin.lab).best.healed
        drawn, look = _preview(skin.lab, best.shade.id, best.depth_mm)
        ax = axes[len(ROWS), col]
        ax.imshow(drawn, interpolation="none")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"area ΔL* {look.full_density_drop_l:.1f}", fontsize=9.5)
        if col == 0:
            ax.set_ylabel("preview, 10 mm\nat full density", fontsize=10.5)
    fig.suptitle(
        "Predicted healed SMP dots: recommended shade per skin type, two depths and fading",
        fontsize=12.5,
    )
    fig.text(
        0.5,
        0.015,
        "Layered Kubelka-Munk model (pointillist.color); ΔE00 = CIEDE2000 contrast to the "
        "skin; blue = drift toward blue against the same shade at 0.15 mm, freshly healed.\n"
        "Last row: what pointillist simulate draws, calibrated so that the area at full "
        "density reads the target L* drop for the skin type.",
        ha="center",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.045, 1, 0.97))
    out = Path(__file__).resolve().parent / "images" / "pigment_dots.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(main())
