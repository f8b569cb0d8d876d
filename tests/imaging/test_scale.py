"""Scale in mm per pixel: iris, given scale, given head width, and refusals."""

from __future__ import annotations

import pytest

from pointillist.errors import PointillistError
from pointillist.imaging.scale import choose_scale, scale_from_iris


def test_astronaut_scale_from_the_iris(astronaut_keypoints):
    scale = choose_scale(
        mm_per_px=None,
        head_width_mm=None,
        head_width_px=None,
        iris_diameter_px=astronaut_keypoints.iris_diameter_px,
    )
    assert scale.source == "iris"
    assert "11.7 mm" in scale.detail
    # 11.7 mm over about 8.7 px.
    assert 1.15 < scale.mm_per_px < 1.55
    # Cross-check: her face (landmarks 234-454) is an adult face width, 10-15 cm.
    assert 100 < astronaut_keypoints.face_width_px * scale.mm_per_px < 150


def test_iris_arithmetic():
    assert scale_from_iris(46.8).mm_per_px == pytest.approx(0.25)


def test_given_scale_wins_over_the_iris():
    scale = choose_scale(mm_per_px=0.1, head_width_mm=None, head_width_px=None, iris_diameter_px=40)
    assert (scale.mm_per_px, scale.source) == (0.1, "mm_per_px")


def test_head_width():
    scale = choose_scale(mm_per_px=None, head_width_mm=150, head_width_px=1500, iris_diameter_px=40)
    assert scale.source == "head_width"
    assert scale.mm_per_px == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mm_per_px": 0.1, "head_width_mm": 150}, "not both"),
        ({}, "no face"),
        ({"mm_per_px": 50.0}, "not a photo scale"),
        ({"head_width_mm": 40.0}, "not an adult head width"),
        ({"head_width_mm": 150.0, "head_width_px": 0.0}, "cannot measure the head"),
        ({"iris_diameter_px": 1.0}, "too small"),
    ],
)
def test_refusals(kwargs, message):
    args = {
        "mm_per_px": None,
        "head_width_mm": None,
        "head_width_px": None,
        "iris_diameter_px": None,
    }
    args.update(kwargs)
    with pytest.raises(PointillistError, match=message):
        choose_scale(**args)
