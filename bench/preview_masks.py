"""Redraw the ground-truth bald-scalp masks of ``tests/fixtures/preview`` from their recipes.

Each fixture photo ``NAME.jpg`` has a recipe ``NAME.mask.json`` and the mask it draws,
``NAME.mask.png`` (8-bit, white = visibly bald scalp, black = everything else):

- for a real photo the recipe holds ``polygons``: lists of ``[x, y]`` vertices in pixels
  of the photo, placed by eye on the bald dome and temples above a natural hairline zone
  (see the fixtures' README); they are filled as they are;
- for a synthetic head it holds ``synthetic`` (a function of
  :mod:`pointillist.imaging.synthetic`) and its ``args``: the photo and the exact mask
  (the head's ``bald_mask``) are both redrawn from them.

``--review DIR`` also writes each photo with its mask outline as a PNG, for looking at.
Run ``python bench/preview_masks.py`` after editing a recipe.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "preview"

SYNTHETIC: dict[str, dict[str, Any]] = {
    "synth_top": {
        "synthetic": "synthetic_top_view",
        "args": {"seed": 3},
        "simulate_args": ["--view", "top", "--mm-per-px", "0.3"],
    },
    "synth_top_2x": {
        "synthetic": "synthetic_top_view",
        "args": {"width": 1600, "height": 1800, "mm_per_px": 0.15, "seed": 3},
        "simulate_args": ["--view", "top", "--mm-per-px", "0.15"],
    },
    "synth_frontal": {
        "synthetic": "synthetic_frontal",
        "args": {"seed": 3},
        "simulate_args": ["--mm-per-px", "0.3", "--landmarks", "synth_frontal.landmarks.json"],
    },
}
"""The synthetic heads: the same top view at two resolutions, and a frontal view.
``simulate_args`` are what a practitioner would give for them (MediaPipe finds no face
in these drawings: the top views are named as such, with their scale, and the frontal
head gets its scale and its landmarks as clicked);
``bench/preview_quality.py`` passes them to both of its runs."""


def draw_polygons(recipe: dict[str, Any]) -> np.ndarray:
    width, height = recipe["size"]
    mask = np.zeros((height, width), np.uint8)
    polygons = [np.rint(np.array(p, np.float64)).astype(np.int32) for p in recipe["polygons"]]
    cv2.fillPoly(mask, polygons, 255)
    return mask


def draw_synthetic(name: str, recipe: dict[str, Any], folder: Path) -> np.ndarray:
    from pointillist.imaging import synthetic
    from pointillist.imaging.io import save_image

    head = getattr(synthetic, recipe["synthetic"])(**recipe["args"])
    save_image(folder / f"{name}.jpg", head.rgb)
    if head.keypoints is not None:
        (folder / f"{name}.landmarks.json").write_text(
            json.dumps(head.keypoints.to_json()) + "\n", encoding="utf-8"
        )
    return np.where(head.bald_mask, 255, 0).astype(np.uint8)


def review_image(photo: Path, mask: np.ndarray) -> np.ndarray:
    bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    thickness = max(1, round(max(bgr.shape[:2]) / 400))
    cv2.drawContours(bgr, contours, -1, (255, 0, 255), thickness, cv2.LINE_AA)
    return bgr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=FIXTURES, help="fixture folder")
    parser.add_argument("--review", type=Path, help="write outline PNGs into this folder")
    args = parser.parse_args(argv)
    folder: Path = args.photos
    for name, recipe in SYNTHETIC.items():
        (folder / f"{name}.mask.json").write_text(
            json.dumps({"image": f"{name}.jpg", **recipe}) + "\n", encoding="utf-8"
        )
    if args.review:
        args.review.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("*.mask.json")):
        name = path.name.removesuffix(".mask.json")
        recipe = json.loads(path.read_text(encoding="utf-8"))
        if "synthetic" in recipe:
            mask = draw_synthetic(name, recipe, folder)
        else:
            mask = draw_polygons(recipe)
        cv2.imwrite(str(folder / f"{name}.mask.png"), mask)
        print(f"{name}: {int(np.count_nonzero(mask))} px")
        if args.review:
            cv2.imwrite(
                str(args.review / f"{name}.png"), review_image(folder / recipe["image"], mask)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
