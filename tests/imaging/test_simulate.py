"""The whole pipeline on synthetic heads with known ground truth, and on astronaut."""

from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from pointillist.errors import PointillistError
from pointillist.imaging.io import encode_jpeg
from pointillist.imaging.simulate import STAGES, simulate

REQUIRED_KEYS = {
    "scale_mm_per_px",
    "scale_source",
    "landmarks_found",
    "hairline",
    "treatment_area_cm2",
    "final_density_per_cm2",
    "sessions",
    "timings_ms",
}


def test_treatment_area_within_ten_percent_of_the_bald_area(top_head, top_simulation):
    assert top_simulation.treatment_area_cm2 == pytest.approx(top_head.bald_area_cm2, rel=0.10)


def test_scale_from_head_width_and_area(top_head):
    sim = simulate(top_head.rgb, head_width_mm=152.0, detect_face=False, seed=5)
    assert sim.scale.source == "head_width"
    assert sim.scale.mm_per_px == pytest.approx(top_head.mm_per_px, rel=0.05)
    assert sim.treatment_area_cm2 == pytest.approx(top_head.bald_area_cm2, rel=0.10)


def test_sessions_are_cumulative_and_reach_the_final_density(top_simulation):
    course = top_simulation.impressions
    counts = top_simulation.cumulative_impressions()
    assert len(counts) == 4 and counts == sorted(counts) and counts[0] > 0
    for k in range(1, 4):
        earlier = course.up_to_session(k).xy
        later = course.up_to_session(k + 1).xy
        assert np.array_equal(later[: len(earlier)], earlier)
    # 100 per cm2 over the area, less the feathered edge.
    achieved = counts[-1] / top_simulation.treatment_area_cm2
    assert 80.0 < achieved <= 102.0


def test_no_impression_outside_the_treatment_area(top_simulation):
    sim = top_simulation
    cell = sim.regions.cell_px
    allowed = cv2.dilate((sim.treatment_share > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    xy = sim.impressions.xy
    cols = np.clip(np.floor((xy[:, 0] + 0.5) / cell).astype(int), 0, allowed.shape[1] - 1)
    rows = np.clip(np.floor((xy[:, 1] + 0.5) / cell).astype(int), 0, allowed.shape[0] - 1)
    assert allowed[rows, cols].all()


def test_no_impression_outside_a_given_mask(top_head):
    h, w = top_head.rgb.shape[:2]
    mask = np.zeros((h, w), bool)
    mask[150:300, 120:280] = True
    sim = simulate(top_head.rgb, mm_per_px=top_head.mm_per_px, mask=mask, detect_face=False)
    xy = sim.impressions.xy
    assert len(xy) > 1000
    assert mask[xy[:, 1].astype(int), xy[:, 0].astype(int)].all()
    assert sim.mask_source == "mask"
    # 150 x 160 px at 0.6 mm/px on a curved head: at least the flat 86.4 cm2.
    assert 86.0 < sim.treatment_area_cm2 < 110.0


def test_minimum_distance_between_impressions(top_simulation, top_head):
    from scipy.spatial import cKDTree

    xy = top_simulation.impressions.xy
    head = top_head.head
    # Where the scalp faces the camera the metric is nearly flat: image distance x scale.
    (cx, cy), (a, b) = head.outline.center, head.outline.semi_axes
    central = ((xy[:, 0] - cx) / a) ** 2 + ((xy[:, 1] - cy) / b) ** 2 < 0.2**2
    pts = xy[central]
    assert len(pts) > 200
    distance, _ = cKDTree(xy).query(pts, k=2)
    nearest_mm = distance[:, 1] * top_head.mm_per_px
    # PACKING / sqrt(1 per mm2) = 0.75 mm at full density.
    assert nearest_mm.min() >= 0.75 * 0.97


def test_same_seed_same_images_other_seed_other_images(top_head):
    small = np.ascontiguousarray(top_head.rgb[100:350, 80:320])
    kwargs = {"mm_per_px": top_head.mm_per_px, "detect_face": False, "sessions": 3}
    a = simulate(small, seed=11, **kwargs)
    b = simulate(small, seed=11, **kwargs)
    c = simulate(small, seed=12, **kwargs)
    for x, y in zip(a.session_images, b.session_images, strict=True):
        assert np.array_equal(x, y)
    assert np.array_equal(a.overlay, b.overlay)
    assert not np.array_equal(a.session_images[-1], c.session_images[-1])
    assert len(a.session_images) == 3


def test_dots_darken_only_inside_the_area(top_simulation):
    before = top_simulation.image.astype(int)
    after = top_simulation.session_images[-1].astype(int)
    changed = np.abs(after - before).sum(axis=2) > 0
    cell = top_simulation.regions.cell_px
    grid = (top_simulation.treatment_share > 0).astype(np.uint8)
    full = cv2.resize(grid, (before.shape[1], before.shape[0]), interpolation=cv2.INTER_NEAREST)
    # A dot reaches about its radius plus its blurred edge (under 2 px here) past its centre.
    full = cv2.dilate(full, np.ones((7, 7), np.uint8))
    assert changed.any()
    assert not (changed & (full == 0)).any()
    # Pigment under skin darkens: never lighter anywhere.
    assert (after <= before).all()
    assert cell > 0


def test_outputs_and_json_contract(tmp_path, top_simulation):
    payload = top_simulation.write(tmp_path)
    assert set(payload) >= REQUIRED_KEYS
    assert payload["scale_source"] == "mm_per_px"
    assert payload["landmarks_found"] is False
    assert payload["hairline"] == []
    assert [s["number"] for s in payload["sessions"]] == [1, 2, 3, 4]
    assert set(STAGES) | {"write"} == set(payload["timings_ms"])
    assert payload["skin"]["category"] in {"very light", "light", "intermediate", "tan"}
    assert len(payload["dot_ratio_rgb"]) == 3 and all(0 < v <= 1 for v in payload["dot_ratio_rgb"])
    on_disk = json.loads((tmp_path / "simulation.json").read_text())
    assert on_disk == json.loads(json.dumps(payload))
    h, w = top_simulation.image.shape[:2]
    for k in range(1, 5):
        image = Image.open(tmp_path / f"session_{k}.jpg")
        assert image.size == (w, h)
        assert len(image.getexif()) == 0
    assert Image.open(tmp_path / "overlay.png").size == (w, h)
    before_after = Image.open(tmp_path / "before_after.jpg")
    assert before_after.size[1] == h and before_after.size[0] > 2 * w


def test_composing_on_write_writes_the_same_files(tmp_path, top_head, top_simulation):
    top_simulation.write(tmp_path / "eager")
    sim = simulate(
        top_head.rgb, mm_per_px=top_head.mm_per_px, detect_face=False, seed=5, compose_on_write=True
    )
    assert sim.composed == {}
    # The overlay needs nothing after the treatment stage: it is composed and encoded
    # while the later stages run.
    assert sim.overlay_ahead is not None
    payload = sim.write(tmp_path / "on_write")
    assert set(STAGES) | {"write"} == set(payload["timings_ms"])
    assert payload["timings_ms"]["compose"] > 0
    names = [f"session_{k}.jpg" for k in range(1, 5)] + ["before_after.jpg", "overlay.png"]
    for name in names:
        assert (tmp_path / "on_write" / name).read_bytes() == (
            tmp_path / "eager" / name
        ).read_bytes(), name


def test_an_unwritable_output_folder_is_one_line(tmp_path, top_simulation):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PointillistError, match="cannot write the outputs"):
        top_simulation.write(blocker / "out")


def test_checking_options_does_not_wait_for_numba():
    """The kernels load on a thread of their own while the photo is read and the options
    checked; a check that imported the sampler would wait for all of numba."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pointillist.imaging.simulate import SimulationOptions\n"
        "SimulationOptions(sessions=4).check((640, 480))\n"
        "import pointillist.color, pointillist.imaging.impressions\n"
        "print(sorted(m for m in ('numba', 'pointillist.data.schemas') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_astronaut_frontal_pipeline(astronaut, astronaut_keypoints):
    sim = simulate(astronaut, landmarks=astronaut_keypoints, seed=1)
    payload = sim.to_json()
    assert payload["landmarks_found"] is True
    assert payload["scale_source"] == "iris"
    assert 1.15 < payload["scale_mm_per_px"] < 1.55
    assert len(payload["hairline"]) > 20
    mid = payload["hairline_design"]["mid_frontal"]
    assert mid[1] < astronaut_keypoints.glabella[1] - 30
    assert payload["skin"]["lab"][0] > 60
    # She has a full head of hair: almost nothing behind the hairline is bare scalp.
    assert payload["treatment_area_cm2"] < 20.0


def test_frontal_synthetic_with_landmarks(front_head):
    sim = simulate(front_head.rgb, landmarks=front_head.keypoints, seed=2)
    assert sim.scale.source == "iris"
    assert sim.scale.mm_per_px == pytest.approx(front_head.mm_per_px, rel=0.01)
    assert sim.hairline is not None
    # All bare scalp behind the line is treated: at least the visible top of the head.
    assert sim.treatment_area_cm2 > 40.0
    xy = sim.impressions.xy
    glabella_y = front_head.keypoints.glabella[1]
    assert (xy[:, 1] < glabella_y).all()
    # Between the temples, no dot lies further ahead of the front line than the fringe.
    left, right = sim.hairline.temple_right[0], sim.hairline.temple_left[0]
    front = sim.hairline.points
    front = front[(front[:, 0] >= left) & (front[:, 0] <= right)]
    between = xy[(xy[:, 0] > left + 5) & (xy[:, 0] < right - 5)]
    line_y = np.interp(between[:, 0], front[:, 0], front[:, 1])
    fringe_depth_px = 4.0 / front_head.mm_per_px + 4
    assert len(between) > 500
    assert (between[:, 1] < line_y + fringe_depth_px).all()


def test_years_fade_the_dots(top_head):
    small = np.ascontiguousarray(top_head.rgb[100:350, 80:320])
    kwargs = {"mm_per_px": top_head.mm_per_px, "detect_face": False, "seed": 1, "sessions": 3}
    fresh = simulate(small, **kwargs)
    later = simulate(small, years=5.0, **kwargs)
    assert all(b >= a for a, b in zip(fresh.dot_ratio_rgb, later.dot_ratio_rgb, strict=True))
    assert later.session_images[-1].astype(int).sum() > fresh.session_images[-1].astype(int).sum()


def test_progress_reports_every_stage(top_head):
    seen = []
    small = np.ascontiguousarray(top_head.rgb[100:350, 80:320])
    simulate(
        small,
        mm_per_px=top_head.mm_per_px,
        detect_face=False,
        progress=lambda stage, i, n: seen.append(stage),
    )
    assert seen == [*STAGES, "done"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "cannot tell the photo's scale"),
        ({"mm_per_px": 0.6, "sessions": 7}, "7 sessions"),
        ({"mm_per_px": 0.6, "hairline_height_cm": 20}, "hairline-height-cm"),
        ({"mm_per_px": 0.6, "years": -1}, "years"),
        ({"mm_per_px": 0.6, "head_width_mm": 150}, "not both"),
        ({"mm_per_px": 0.6, "mask": np.zeros((3, 3), bool)}, "the mask is 3x3"),
    ],
)
def test_refusals(top_head, kwargs, message):
    with pytest.raises(PointillistError, match=message):
        simulate(top_head.rgb, detect_face=False, **kwargs)


def test_bad_photo_bytes():
    with pytest.raises(PointillistError, match="not an image"):
        simulate(b"GIF? no, just text", mm_per_px=0.5)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, "JPEG")
    with pytest.raises(PointillistError, match="truncated"):
        simulate(buffer.getvalue()[:300], mm_per_px=0.5)


def test_frontal_scale_from_head_width_without_iris(front_head):
    import dataclasses

    keypoints = dataclasses.replace(front_head.keypoints, iris_diameter_px=None)
    sim = simulate(front_head.rgb, landmarks=keypoints, head_width_mm=152.0, seed=1)
    assert sim.scale.source == "head_width"
    assert sim.scale.mm_per_px == pytest.approx(front_head.mm_per_px, rel=0.05)
    with pytest.raises(PointillistError, match="cannot tell the photo's scale"):
        simulate(front_head.rgb, landmarks=keypoints)


def test_demo_shows_two_bald_clients_and_a_top_view(tmp_path):
    """`pointillist demo`: real bald heads, light and dark, with a visible result."""
    from pointillist.imaging.simulate import demo_simulation

    sim = demo_simulation(tmp_path)
    assert sim.keypoints is not None and sim.scale.source == "iris"
    assert (tmp_path / "simulation.json").is_file() and (tmp_path / "overlay.png").is_file()
    dark = json.loads((tmp_path / "front-bald-n6-dark" / "simulation.json").read_text())
    for payload in (json.loads((tmp_path / "simulation.json").read_text()), dark):
        assert payload["landmarks_found"] and payload["treatment_area_cm2"] > 50
        assert payload["sessions"][-1]["impressions"] > 3000
    # The treated dome reads clearly darker after the course.
    mask = sim.treatment_share > 0.9
    cell = sim.regions.cell_px
    rows, cols = np.nonzero(mask)
    y, x = (
        np.rint((rows + 0.5) * cell - 0.5).astype(int),
        np.rint((cols + 0.5) * cell - 0.5).astype(int),
    )
    before = sim.image[y, x].astype(float).mean()
    after = sim.session_images[-1][y, x].astype(float).mean()
    assert before - after > 8  # sRGB levels
    top = json.loads((tmp_path / "top_view" / "simulation.json").read_text())
    assert top["treatment_area_cm2"] > 100 and top["sessions"][-1]["impressions"] > 10_000


def test_close_up_needs_a_mask_and_is_flat():
    from pointillist.imaging.synthetic import synthetic_top_view

    head = synthetic_top_view(width=1050, height=1250, mm_per_px=0.2, seed=4)
    crop = np.ascontiguousarray(head.rgb[450:750, 350:650])  # bare scalp fills the frame
    # Without a background GrabCut cannot find the head: a clear request for a mask.
    with pytest.raises(PointillistError, match="give --mask"):
        simulate(crop, mm_per_px=0.2, detect_face=False)
    mask = np.zeros(crop.shape[:2], bool)
    mask[50:250, 50:250] = True
    sim = simulate(crop, mm_per_px=0.2, mask=mask, detect_face=False, seed=1)
    assert sim.head.view == "flat"
    # 200 x 200 px at 0.2 mm/px, flat: 16 cm2.
    assert sim.treatment_area_cm2 == pytest.approx(16.0, rel=0.03)
    assert any("close-up" in w for w in sim.warnings)
    xy = sim.impressions.xy
    assert mask[xy[:, 1].astype(int), xy[:, 0].astype(int)].all()


def test_a_hairline_drawn_by_the_practitioner(front_head):
    kp = front_head.keypoints
    y = kp.glabella[1] - 60.0 / front_head.mm_per_px
    x0, x1 = kp.lateral_canthus_right[0], kp.lateral_canthus_left[0]
    points = np.array([[x0 - 40, y - 20], [(x0 + x1) / 2, y], [x1 + 40, y - 20]])
    sim = simulate(front_head.rgb, landmarks=kp, hairline_points=points, seed=3)
    assert sim.hairline is not None and sim.hairline.source == "given"
    assert sim.to_json()["hairline"][1] == [round((x0 + x1) / 2, 1), round(y, 1)]
    centre = sim.impressions.xy[np.abs(sim.impressions.xy[:, 0] - (x0 + x1) / 2) < 20]
    # Nothing ahead of the drawn line beyond the fringe; the scalp behind it is treated.
    assert (centre[:, 1] < y + 4.0 / front_head.mm_per_px + 2).all()
    assert (centre[:, 1] < y - 20.0 / front_head.mm_per_px).any()


def test_colour_cast_photo_still_previews_in_the_default_shade(top_head):
    blue = top_head.rgb.astype(np.int32)
    blue[..., 0] //= 2
    blue[..., 2] = np.minimum(255, blue[..., 2] * 2)
    sim = simulate(blue.astype(np.uint8), mm_per_px=0.6, detect_face=False, sessions=3)
    assert sim.skin is None
    assert any("skin colour not used" in w for w in sim.warnings)
    assert sim.cumulative_impressions()[-1] > 1000


def test_the_face_detector_runs_only_when_a_face_decides_something():
    from pointillist.imaging.simulate import SimulationOptions, detects_faces

    area = np.ones((4, 4), bool)
    assert detects_faces(SimulationOptions())
    assert detects_faces(SimulationOptions(mask=area))  # the scale comes from the iris
    assert detects_faces(SimulationOptions(mm_per_px=0.1))
    assert not detects_faces(SimulationOptions(detect_face=False))
    assert not detects_faces(SimulationOptions(mask=area, mm_per_px=0.1))
    assert not detects_faces(SimulationOptions(mm_per_px=0.1), mask=area)
    assert not detects_faces(SimulationOptions(), landmarks="face.json")


def test_an_edited_area_replaces_the_overlay_composed_ahead(tmp_path, top_head):
    sim = simulate(
        top_head.rgb, mm_per_px=top_head.mm_per_px, detect_face=False, compose_on_write=True
    )
    first = sim.overlay_ahead
    assert first is not None
    removed = np.zeros(top_head.rgb.shape[:2], bool)
    removed[: removed.shape[0] // 2] = True
    sim.update(area_remove=removed)
    assert sim.overlay_ahead is not None and sim.overlay_ahead is not first
    sim.write(tmp_path / "edited")
    eager = simulate(top_head.rgb, mm_per_px=top_head.mm_per_px, detect_face=False)
    eager.update(area_remove=removed)
    eager.write(tmp_path / "eager")
    for name in ("overlay.png", "before_after.jpg"):
        assert (tmp_path / "edited" / name).read_bytes() == (tmp_path / "eager" / name).read_bytes()


def test_the_same_photo_twice_in_one_process_gives_the_same_pixels(top_head):
    """GrabCut (the head outline of a top view) draws from OpenCV's random generator,
    whose state outlives a call: a second run in the same process (the web app, the
    editor) found another outline, and another count of dots, until it was reseeded."""
    photo = encode_jpeg(top_head.rgb)

    def run():
        return simulate(photo, mm_per_px=top_head.mm_per_px, detect_face=False, seed=5)

    first, second = run(), run()
    assert first.cumulative_impressions() == second.cumulative_impressions()
    np.testing.assert_array_equal(first.regions.foreground, second.regions.foreground)
    np.testing.assert_array_equal(first.session_images[-1], second.session_images[-1])


def test_the_sides_taper_above_the_brows_line_instead_of_a_straight_cut():
    """On a bald head the treated sides reach down to the line at the brows below which
    nothing is treated; they fade in above it rather than stopping at full density in a
    straight edge level with the brows (a hard line is what a natural hairline never has)."""
    from pathlib import Path

    from pointillist.imaging.regions import brow_line_fade

    photo = Path(__file__).resolve().parents[1] / "fixtures" / "preview" / "C000984_bald_dark.jpg"
    sim = simulate(photo.read_bytes(), seed=0)
    assert sim.keypoints is not None and sim.scale is not None and sim.regions is not None
    share = sim.treatment_share
    fade = brow_line_fade(sim.keypoints, share.shape, sim.regions.cell_px, sim.scale.mm_per_px)
    lowest = (fade > 0) & (fade < 0.3) & (share > 0)
    assert lowest.sum() >= 10  # the sides do reach down to the line
    assert share[lowest].max() <= 0.3
    # Higher up the sides have their full density.
    assert share[(fade == 1.0) & sim.treatment_mask].max() > 0.9
