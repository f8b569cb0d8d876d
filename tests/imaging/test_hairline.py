"""Hairline design: height on the surface, temples on the canthus lines, shapes, ramp."""

from __future__ import annotations

import numpy as np
import pytest

from pointillist.errors import PointillistError
from pointillist.imaging.hairline import (
    design_hairline,
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


def test_mid_frontal_point_is_the_height_above_the_glabella_on_the_surface(front):
    synthetic, head = front
    kp = synthetic.keypoints
    for height_cm in (7.0, 8.0, 10.0):
        line = design_hairline(kp, head, height_cm=height_cm, shape="rounded", seed=3)
        length = _surface_length(synthetic.head, kp.glabella, line.mid_frontal)
        # Within the macro irregularity (2.5 mm) of the height, measured on the true head.
        assert length == pytest.approx(height_cm * 10.0, abs=3.0)
        # Straight up from the glabella in the image.
        assert line.mid_frontal[0] == pytest.approx(kp.glabella[0], abs=1.0)


def test_the_surface_is_longer_than_its_picture(front):
    synthetic, head = front
    kp = synthetic.keypoints
    line = design_hairline(kp, head, height_cm=8.0, shape="straight", seed=0)
    pixels = kp.glabella[1] - line.mid_frontal[1]
    assert pixels * synthetic.mm_per_px < 80.0 - 3.0


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
