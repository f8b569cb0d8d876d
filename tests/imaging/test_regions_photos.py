"""Regions on real portraits: bald domes in light and shade, never-treat parts, thin and
dense hair, and the client among several people.

The portraits in tests/fixtures/portraits are official portraits of US members of
Congress, downscaled to 360 px wide. Official portrait, public domain (US federal
government work).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pointillist.errors import PointillistError
from pointillist.imaging.landmarks import (
    EYEBROW_TOPS,
    FOREHEAD_TOP,
    IRIS_LEFT,
    IRIS_RIGHT,
    FaceKeypoints,
    choose_face,
    detect_faces,
)
from pointillist.imaging.regions import Regions, segment_regions

PORTRAITS = Path(__file__).resolve().parents[1] / "fixtures" / "portraits"
IRIS_MM = 11.7  # adult horizontal visible iris diameter, as the scale module assumes


def _portrait(name: str) -> np.ndarray:
    bgr = cv2.imread(str(PORTRAITS / f"{name}.jpg"))
    assert bgr is not None, name
    return np.ascontiguousarray(bgr[..., ::-1])


def _segment(rgb: np.ndarray, face: int | None = None) -> tuple[list[FaceKeypoints], int, Regions]:
    faces = detect_faces(rgb)
    client = choose_face(faces, face)
    return faces, client, segment_regions(rgb, keypoints=faces[client], faces=faces)


def _treatable(regions: Regions, face: FaceKeypoints) -> np.ndarray:
    assert face.iris_diameter_px is not None
    return regions.treatable_scalp(IRIS_MM / face.iris_diameter_px)


def _cell(regions: Regions, xy: np.ndarray) -> tuple[int, int]:
    cell = regions.cell_px
    return round((float(xy[1]) + 0.5) / cell - 0.5), round((float(xy[0]) + 0.5) / cell - 0.5)


def _height(regions: Regions, face: FaceKeypoints) -> np.ndarray:
    """Photo px above the glabella along the face's up direction, per work-grid cell."""
    h, w = regions.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cell = regions.cell_px
    gx, gy = face.glabella
    return ((xx + 0.5) * cell - 0.5 - gx) * face.up[0] + ((yy + 0.5) * cell - 0.5 - gy) * face.up[1]


@pytest.fixture(scope="module")
def segmented() -> dict[str, tuple[np.ndarray, FaceKeypoints, Regions]]:
    out = {}
    for name in (
        "P000607_shaved_bald",
        "B000755_bald_n6",
        "C000984_bald_dark",
        "W000790_bald_n6_dark",
        "C001068_bald_n6",
    ):
        rgb = _portrait(name)
        faces, client, regions = _segment(rgb)
        out[name] = (rgb, faces[client], regions)
    return out


@pytest.mark.parametrize(
    "name", ["P000607_shaved_bald", "B000755_bald_n6", "C000984_bald_dark", "W000790_bald_n6_dark"]
)
def test_bald_dome_in_highlight_and_shade_is_treatable_scalp(segmented, name):
    rgb, face, regions = segmented[name]
    fw = face.face_width_px
    assert face.mesh is not None
    top = float((face.mesh[FOREHEAD_TOP] - np.asarray(face.glabella)) @ face.up)
    # The dome: the head above the face mesh, a little inside its outline.
    k = max(3, round(0.06 * fw / regions.cell_px))
    inner = cv2.erode(regions.foreground.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    dome = inner & (_height(regions, face) > top + 0.15 * fw)
    assert dome.sum() > 500
    h, w = regions.shape
    lightness = cv2.cvtColor(
        cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2Lab
    )[..., 0]
    shade_max, shine_min = np.percentile(lightness[dome], [10, 90])
    treatable = _treatable(regions, face)
    assert treatable[dome].mean() > 0.95
    # The shine on top and the shaded sides are scalp like the rest.
    assert treatable[dome & (lightness <= shade_max)].mean() > 0.85
    assert treatable[dome & (lightness >= shine_min)].mean() > 0.9


@pytest.mark.parametrize("name", ["C001068_bald_n6", "W000790_bald_n6_dark", "P000607_shaved_bald"])
def test_never_on_glasses_brows_ears_beard_or_background(segmented, name):
    _rgb, face, regions = segmented[name]
    treatable = _treatable(regions, face)
    assert treatable.any()
    assert not (treatable & ~regions.foreground).any()  # background
    assert not (treatable & regions.never_treat).any()
    assert face.mesh is not None
    fw = face.face_width_px
    radius = max(2, round(0.12 * fw / regions.cell_px))
    side = np.array([-face.up[1], face.up[0]])
    spots = {
        "right eye and glasses": face.mesh[IRIS_RIGHT[0]],
        "left eye and glasses": face.mesh[IRIS_LEFT[0]],
        "chin and beard": np.asarray(face.chin),
        "mouth and moustache": face.mesh[0],
        # Ears sit beside the eyes, just outside the face's sides.
        "right ear": np.asarray(face.lateral_canthus_right) - side * 0.3 * fw,
        "left ear": np.asarray(face.lateral_canthus_left) + side * 0.3 * fw,
    }
    reach = {what: radius for what in spots}
    # Brow hairs reach a little above the points on the brows' upper edge.
    for i in EYEBROW_TOPS:
        spots[f"brow {i}"] = face.mesh[i]
        reach[f"brow {i}"] = max(1, round(0.03 * fw / regions.cell_px))
    for what, xy in spots.items():
        r, c = _cell(regions, xy)
        n = reach[what]
        window = treatable[max(0, r - n) : r + n + 1, max(0, c - n) : c + n + 1]
        assert not window.any(), what


def _with_locks(rgb: np.ndarray, face: FaceKeypoints) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Two locks of hair combed over the dome: thin strands with skin between them on the
    image left, strands packed into a dense lock on the right."""
    assert face.mesh is not None
    fw = face.face_width_px
    top = face.mesh[FOREHEAD_TOP]
    side = np.array([-face.up[1], face.up[0]])
    rng = np.random.default_rng(3)
    out = rgb.copy()
    boxes = []
    for offset, spacing, opacity in ((-0.15, 4, 0.55), (0.15, 1, 1.0)):
        cx, cy = np.rint(top + face.up * 0.22 * fw + side * offset * fw).astype(int)
        half = round(0.07 * fw)
        strands = out.copy()
        for x in range(cx - half, cx + half, spacing):
            line = np.array(
                [[x + rng.integers(-1, 2), cy - half], [x + rng.integers(-2, 3), cy + half]]
            )
            cv2.polylines(strands, [line.astype(np.int32)], False, (58, 44, 36), 1, cv2.LINE_AA)
        out = (opacity * strands + (1.0 - opacity) * out).astype(np.uint8)
        boxes.append((cx - half, cy - half, cx + half, cy + half))
    return out, boxes


def test_a_thin_forelock_is_thin_hair_and_a_dense_lock_is_hair():
    rgb = _portrait("P000607_shaved_bald")
    face = detect_faces(rgb)[0]
    locked, (thin_box, dense_box) = _with_locks(rgb, face)
    regions = segment_regions(locked, keypoints=face, faces=[face])
    treatable = _treatable(regions, face)
    cell = regions.cell_px

    def inside(box: tuple[int, ...]) -> tuple[slice, slice]:
        x0, y0, x1, y1 = box
        return slice(round(y0 / cell) + 1, round(y1 / cell) - 1), slice(
            round(x0 / cell) + 1, round(x1 / cell) - 1
        )

    thin, dense = inside(thin_box), inside(dense_box)
    # Thin strands over skin: existing hair, and SMP adds density between them.
    assert regions.thin_hair[thin].mean() > 0.8
    assert treatable[thin].mean() > 0.9
    # A dense lock hides the scalp: left alone.
    assert regions.hair[dense].mean() > 0.9
    assert treatable[dense].mean() < 0.1


@pytest.fixture(scope="module")
def group_photo() -> np.ndarray:
    """Two people side by side: a larger head on the left, a smaller one on the right."""
    left = _portrait("B000755_bald_n6")
    right = cv2.resize(_portrait("S001184_bald_dark"), (270, 330), interpolation=cv2.INTER_AREA)
    canvas = np.empty((440, 630, 3), np.uint8)
    canvas[:] = left[5, 5]
    canvas[:, :360] = left
    canvas[110:, 360:] = right
    return canvas


def test_every_face_is_found_largest_first(group_photo):
    faces = detect_faces(group_photo)
    assert len(faces) == 2
    assert faces[0].glabella[0] < 360 < faces[1].glabella[0]
    assert faces[0].face_width_px > faces[1].face_width_px


@pytest.mark.parametrize(("face", "client_side"), [(None, "left"), (1, "left"), (2, "right")])
def test_only_the_client_is_treated(group_photo, face, client_side):
    faces, client, regions = _segment(group_photo, face)
    treatable = _treatable(regions, faces[client])
    cols = np.nonzero(treatable)[1] * regions.cell_px
    assert cols.size > 200
    if client_side == "left":
        assert cols.max() < 360
    else:
        assert cols.min() > 360
    # The other person is not the client: outside the foreground and never treated.
    other = faces[1 - client]
    r, c = _cell(regions, np.asarray(other.glabella))
    assert not regions.foreground[r, c] and regions.never_treat[r, c]


def test_asking_for_a_face_that_is_not_there(group_photo):
    faces = detect_faces(group_photo)
    with pytest.raises(PointillistError, match="--face 3: the photo has 2 faces"):
        choose_face(faces, 3)


def test_simulate_treats_the_chosen_face_and_names_the_other(group_photo):
    from pointillist.imaging.simulate import simulate

    sim = simulate(group_photo, face=2, sessions=3, seed=2)
    assert sim.regions is not None and sim.treatment_mask is not None
    cols = np.nonzero(sim.treatment_mask)[1] * sim.regions.cell_px
    assert cols.size > 200 and cols.min() > 360
    named = [w for w in sim.warnings if "face 2 (as asked) is the client" in w]
    assert named and "face 1 is left untreated" in named[0]
