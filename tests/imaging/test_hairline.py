"""Hairline design: height on the surface, temples on the canthus lines, shapes, ramp."""

from __future__ import annotations

import numpy as np
import pytest

from pointillist.errors import PointillistError
from pointillist.imaging.hairline import (
    design_hairline,
    forehead_rise_fraction,
    hairline_density,
    hairline_from_points,
)
from pointillist.imaging.head import fit_frontal


def _surface_length(head, start, end, steps: int = 400) -> float:
    t = np.linspace(0.0, 1.0, steps + 1)
    pts = np.asarray(start)[None, :] + (np.asarray(end) - np.asarray(start))[None, :] * t[:, None]
    g = head.metric_at(pts[:, 0], pts[:, 1]).astype(np.float64)
    d = (np.asarray(end) - np.asarray(start)) / steps
    per_step = np.sqrt(g[:, 0] * d[0] ** 2 + 2 * g[:, 1] * d[0] * d[1] + g[:, 2] * d[1] ** 2)
    return float(np.sum((per_step[1:] + per_step[:-1]) / 2))


@pytest.fixture(scope="module")
def front(front_head):
    return front_head, fit_frontal(front_head.keypoints, front_head.mm_per_px)


def _rise_share(head, kp, point) -> float:
    """How far up from the glabella's level to the head's outline ``point`` sits."""
    from pointillist.imaging.hairline import _FaceFrame

    frame = _FaceFrame(kp, head)
    return frame.up_from_glabella(point) / float(frame.rise_to_outline(frame.across(point))[0])


def test_mid_frontal_point_rises_by_the_forehead_profile(front):
    synthetic, head = front
    kp = synthetic.keypoints
    shares = []
    for height_cm in (6.0, 8.0, 10.0):
        line = design_hairline(kp, head, height_cm=height_cm, shape="rounded", seed=3)
        share = _rise_share(head, kp, np.asarray(line.mid_frontal))
        # Within the macro irregularity (2.5 mm of surface) of the profile's share.
        expected = float(forehead_rise_fraction(height_cm * 10.0))
        assert share == pytest.approx(expected, abs=0.03)
        assert line.rise_share == pytest.approx(share, abs=1e-6)
        # Straight up from the glabella in the image.
        assert line.mid_frontal[0] == pytest.approx(kp.glabella[0], abs=1.0)
        shares.append(share)
    assert shares[0] < shares[1] < shares[2]


def test_eye_level_hairline_sits_on_the_forehead_not_the_crown(front):
    """At the 8 cm default the line is a little over half way up, as natural hairlines are."""
    synthetic, head = front
    line = design_hairline(synthetic.keypoints, head, seed=0)
    assert 0.45 < line.rise_share < 0.65
    assert forehead_rise_fraction(80.0) == pytest.approx(0.55, abs=0.02)
    # Past the vertex a point is out of sight of a frontal photo.
    assert forehead_rise_fraction(400.0) == pytest.approx(1.0)


def test_the_line_stays_inside_the_head_outline(front):
    synthetic, head = front
    from pointillist.imaging.hairline import _FaceFrame

    frame = _FaceFrame(synthetic.keypoints, head)
    for height_cm in (5.0, 12.0):
        line = design_hairline(synthetic.keypoints, head, height_cm=height_cm, seed=4)
        s, t = frame._to_outline(line.points)
        assert np.all(s * s + t * t <= 0.98**2 + 1e-9)


def test_key_points_moved_by_hand_carry_the_front(front):
    synthetic, head = front
    kp = synthetic.keypoints
    auto = design_hairline(kp, head, shape="rounded", seed=2)
    mid = (auto.mid_frontal[0] + 6.0, auto.mid_frontal[1] + 25.0)
    right = (auto.temple_right[0] - 4.0, auto.temple_right[1] + 10.0)
    left = auto.temple_left
    moved = design_hairline(kp, head, shape="rounded", anchors=(mid, right, left), seed=2)
    for got, want in ((moved.mid_frontal, mid), (moved.temple_right, right)):
        assert got == pytest.approx(want, abs=2.0)
    assert moved.source == "designed, moved by hand"
    with pytest.raises(PointillistError, match="out of order"):
        design_hairline(kp, head, anchors=(left, right, mid))


def test_temple_points_sit_on_the_lateral_canthus_lines(front):
    synthetic, head = front
    kp = synthetic.keypoints
    for shape in ("rounded", "straight", "natural"):
        line = design_hairline(kp, head, shape=shape, seed=1)
        assert line.temple_right[0] == pytest.approx(kp.lateral_canthus_right[0], abs=1.0)
        assert line.temple_left[0] == pytest.approx(kp.lateral_canthus_left[0], abs=1.0)
        assert line.temple_right[1] < kp.lateral_canthus_right[1]


def test_shapes_recede_at_the_temples_differently(front):
    synthetic, head = front
    kp = synthetic.keypoints
    temple_heights = {}
    for shape in ("straight", "rounded", "natural"):
        line = design_hairline(kp, head, shape=shape, seed=1)
        temple_heights[shape] = _surface_length(
            synthetic.head,
            (kp.lateral_canthus_right[0], kp.glabella[1]),
            line.temple_right,
        )
    # Straight lines keep the temples level with the centre; natural ones recede most.
    assert temple_heights["straight"] < temple_heights["rounded"] < temple_heights["natural"]


def test_seed_makes_the_line_reproducible_and_irregular(front):
    synthetic, head = front
    kp = synthetic.keypoints
    a = design_hairline(kp, head, seed=7).points
    b = design_hairline(kp, head, seed=7).points
    c = design_hairline(kp, head, seed=8).points
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_astronaut_hairline(astronaut_keypoints):
    head = fit_frontal(astronaut_keypoints, 1.35)
    line = design_hairline(astronaut_keypoints, head, seed=1)
    kp = astronaut_keypoints
    assert line.mid_frontal[1] < kp.glabella[1] - 30  # well above her brows
    assert line.mid_frontal[1] > 0
    assert line.temple_right[0] < line.mid_frontal[0] < line.temple_left[0]
    assert len(line.to_json()) == len(line.points) > 20


def test_density_ramps_over_the_transition_band(front):
    synthetic, head = front
    kp = synthetic.keypoints
    line = design_hairline(kp, head, shape="straight", transition_band_mm=15.0, seed=2)
    cell = 2.0
    h, w = synthetic.rgb.shape[0] // 2, synthetic.rgb.shape[1] // 2
    share = hairline_density(line, head, (h, w), cell, seed=2)
    col = round(kp.glabella[0] / cell)
    row_line = round(line.mid_frontal[1] / cell)
    assert share[row_line + 20, col] == 0.0  # 20 mm ahead of the line (forehead)
    assert 0.0 < share[row_line, col] < 0.5  # at the line: sparse
    behind = share[: row_line - 2, col]
    assert behind.max() == pytest.approx(1.0)
    # Rising from the line backwards (into the scalp), never falling by more than noise.
    profile = share[row_line - 25 : row_line + 1, col][::-1]
    assert np.all(np.diff(profile) > -0.12)


def test_given_points_and_refusals(front):
    synthetic, head = front
    kp = synthetic.keypoints
    line = hairline_from_points(np.array([[10.0, 50.0], [100.0, 40.0], [200.0, 50.0]]))
    assert line.source == "given" and line.behind == (0.0, -1.0)
    with pytest.raises(PointillistError, match="two"):
        hairline_from_points(np.array([[1.0, 2.0]]))
    with pytest.raises(PointillistError, match="shape 'wavy'"):
        design_hairline(kp, head, shape="wavy")
    with pytest.raises(PointillistError, match="hairline-height-cm 20"):
        design_hairline(kp, head, height_cm=20)
    with pytest.raises(PointillistError, match="transition band"):
        design_hairline(kp, head, transition_band_mm=-1)
