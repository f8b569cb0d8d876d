"""Build and draw the second, independent set of bald-scalp masks of the preview photos.

The masks live in ``tests/fixtures/preview_independent`` (rule and reasons in its README).

Each photo ``NAME.jpg`` of ``tests/fixtures/preview`` has a recipe ``NAME.mask.json`` in
``tests/fixtures/preview_independent`` written by hand from a zoomed, gridded copy of the
photo. The recipe holds what the reviewer placed:

- ``landmarks``: the glabella (between the brows, at brow level), the subnasale (where
  the nose meets the upper lip), both lateral canthi (outer eye corners) and the top of
  the head (where the head outline is highest, or the photo's top edge if cut there);
- ``outline``: polygons around the skin of the head that no hair covers, traced along
  the head's outline against the background and along the edges of fringe hair; only
  their part above the lower edge counts;
- ``exclude`` (optional): polygons of hair inside the outline (a forelock, a tuft);

and what follows from them by the rule written in the folder's README.md (the forehead
ends one glabella-subnasale distance above the glabella, square to the face; lateral to
the outer eye corners the edge drops to half that height):

- ``polygons``: the mask, as polygons of ``[x, y]`` pixel vertices;
- ``lower_edge``: where that edge sits on the face's midline, as pixels and as a share of
  the rise from the glabella to the top of the head.

Usage::

    python bench/preview_masks_independent.py [--folder DIR] [--photos DIR]
        [--construct] [--review DIR] [--only NAME ...]

``--construct`` recomputes ``polygons`` and ``lower_edge`` from the landmarks and
outlines (and rewrites the recipes); without it the recipes' polygons are only drawn.
Every run writes ``NAME.mask.png`` (8-bit, 255 = visibly bald scalp, the photo's size)
beside its recipe. ``--review DIR`` also writes each photo with the outline (magenta),
the lower edge (cyan) and the landmarks (yellow) drawn over it, for looking at.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
PHOTOS = HERE.parent / "tests" / "fixtures" / "preview"
FOLDER = HERE.parent / "tests" / "fixtures" / "preview_independent"

FOREHEAD_THIRDS = 1.0
"""Height of the forehead (glabella to hairline) in glabella-subnasale distances: the
rule of facial thirds, and what the two least receded heads of the set show (README)."""
TEMPLE_DROP = 0.5
"""Lateral to the outer eye corners the edge drops to this height (same unit): the
temple hair of a full head comes down beside the forehead to about mid-forehead."""
TEMPLE_SLOPE_DEG = 60.0
"""How steeply the edge drops from the temple point, below horizontal, outward."""


Frame = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def face_frame(landmarks: dict[str, list[float]]) -> Frame:
    """Origin (glabella), unit ``up`` square to the canthus line, unit ``right`` along it,
    and the glabella-subnasale distance measured along ``up``."""
    glabella = np.array(landmarks["glabella"], float)
    left = np.array(landmarks["canthus_left"], float)
    right = np.array(landmarks["canthus_right"], float)
    along = (right - left) / np.linalg.norm(right - left)
    up = np.array([along[1], -along[0]])  # image y grows downward
    if up[1] > 0:
        up = -up
    rise = float(np.dot(glabella - np.array(landmarks["subnasale"], float), up))
    return glabella, up, along, rise


def lower_edge(landmarks: dict[str, list[float]]) -> np.ndarray:
    """The edge between forehead and scalp, as a polyline from far left to far right."""
    origin, up, along, d = face_frame(landmarks)
    v_left = float(np.dot(np.array(landmarks["canthus_left"], float) - origin, along))
    v_right = float(np.dot(np.array(landmarks["canthus_right"], float) - origin, along))
    run = (FOREHEAD_THIRDS - TEMPLE_DROP) * d / math.tan(math.radians(TEMPLE_SLOPE_DEG))
    far = 6 * d
    points = [
        (v_left - far, TEMPLE_DROP * d),
        (v_left - run, TEMPLE_DROP * d),
        (v_left, FOREHEAD_THIRDS * d),
        (v_right, FOREHEAD_THIRDS * d),
        (v_right + run, TEMPLE_DROP * d),
        (v_right + far, TEMPLE_DROP * d),
    ]
    return np.array([origin + v * along + h * up for v, h in points])


def above_edge(landmarks: dict[str, list[float]]) -> np.ndarray:
    """A polygon holding everything above the lower edge."""
    _, up, _, d = face_frame(landmarks)
    edge = lower_edge(landmarks)
    top = [edge[-1] + 12 * d * up, edge[0] + 12 * d * up]
    return np.vstack([edge, top])


def _fill(shape: tuple[int, int], polygons: list[Any]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for polygon in polygons:  # one at a time: fillPoly would XOR overlapping polygons
        cv2.fillPoly(mask, [np.rint(np.array(polygon, float)).astype(np.int32)], 255)
    return mask


def construct(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe with ``polygons`` and ``lower_edge`` computed from what was placed."""
    width, height = recipe["size"]
    shape = (height, width)
    skin = _fill(shape, recipe["outline"])
    skin &= ~_fill(shape, recipe.get("exclude", []))
    skin &= _fill(shape, [above_edge(recipe["landmarks"])])
    contours, _ = cv2.findContours(skin, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    polygons = []
    for contour in contours:
        if cv2.contourArea(contour) < 4:
            continue
        simple = cv2.approxPolyDP(contour, 0.6, True).reshape(-1, 2)
        polygons.append(simple.tolist())
    origin, up, _, d = face_frame(recipe["landmarks"])
    top = np.array(recipe["landmarks"]["head_top"], float)
    rise = float(np.dot(origin - top, -up))
    return {
        **recipe,
        "polygons": polygons,
        "lower_edge": {
            "above_glabella_px": round(FOREHEAD_THIRDS * d, 1),
            "glabella_subnasale_px": round(d, 1),
            "glabella_to_head_top_px": round(rise, 1),
            "share_of_rise": round(FOREHEAD_THIRDS * d / rise, 3),
        },
    }


def recipe_text(recipe: dict[str, Any]) -> str:
    """One key per line, each value compact, so that a diff shows which part moved."""
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in recipe.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def draw(recipe: dict[str, Any]) -> np.ndarray:
    width, height = recipe["size"]
    return _fill((height, width), recipe["polygons"])


def review_image(photo: Path, recipe: dict[str, Any], mask: np.ndarray) -> np.ndarray:
    bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{photo}: cannot read the photo")
    thickness = max(1, round(max(bgr.shape[:2]) / 500))
    if "landmarks" in recipe:
        edge = np.rint(lower_edge(recipe["landmarks"])).astype(np.int32)
        cv2.polylines(bgr, [edge], False, (255, 255, 0), thickness, cv2.LINE_AA)
        for x, y in recipe["landmarks"].values():
            cv2.circle(bgr, (round(x), round(y)), thickness + 1, (0, 255, 255), -1)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(bgr, contours, -1, (255, 0, 255), thickness, cv2.LINE_AA)
    return bgr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=FOLDER, help="folder of NAME.mask.json")
    parser.add_argument("--photos", type=Path, default=PHOTOS, help="folder of NAME.jpg")
    parser.add_argument("--construct", action="store_true", help="recompute the polygons")
    parser.add_argument("--review", type=Path, help="write outline PNGs into this folder")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="names containing one of these")
    args = parser.parse_args(argv)
    recipes = sorted(args.folder.glob("*.mask.json"))
    if not recipes:
        print(f"no NAME.mask.json in {args.folder}", file=sys.stderr)
        return 2
    if args.review:
        args.review.mkdir(parents=True, exist_ok=True)
    for path in recipes:
        name = path.name.removesuffix(".mask.json")
        if args.only and not any(part in name for part in args.only):
            continue
        recipe = json.loads(path.read_text(encoding="utf-8"))
        if args.construct:
            recipe = construct(recipe)
            path.write_text(recipe_text(recipe), encoding="utf-8")
        mask = draw(recipe)
        cv2.imwrite(str(args.folder / f"{name}.mask.png"), mask)
        share = recipe.get("lower_edge", {}).get("share_of_rise")
        print(f"{name}: {int(np.count_nonzero(mask))} px, lower edge at {share} of the rise")
        if args.review:
            photo = args.photos / recipe["image"]
            cv2.imwrite(str(args.review / f"{name}.png"), review_image(photo, recipe, mask))
    return 0


if __name__ == "__main__":
    sys.exit(main())
