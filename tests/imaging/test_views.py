"""Top and back views: a faceless photo is treated only when the user says what it is."""

from __future__ import annotations

import numpy as np
import pytest

from pointillist.errors import PointillistError
from pointillist.imaging.simulate import simulate


def test_a_declared_top_view_does_not_warn_about_the_missing_face(top_head):
    sim = simulate(top_head.rgb, mm_per_px=top_head.mm_per_px, detect_face=False, seed=2)
    assert sim.keypoints is None
    assert not any("face" in w for w in sim.warnings)


def test_a_faceless_photo_is_not_treated_as_a_head_unless_declared(top_head):
    """A saucer seen from above: no face, a skin-brown disc; nothing says it is a head."""
    h, w = 450, 600
    yy, xx = np.mgrid[:h, :w]
    photo = np.empty((h, w, 3), np.uint8)
    photo[:] = (150, 110, 70)
    photo[((xx - 300) / 220) ** 2 + ((yy - 225) / 170) ** 2 <= 1] = (240, 240, 236)
    photo[((xx - 300) / 100) ** 2 + ((yy - 225) / 80) ** 2 <= 1] = (95, 60, 35)
    for image in (photo, top_head.rgb):
        with pytest.raises(PointillistError, match="--view top"):
            simulate(image, mm_per_px=0.2)


def test_a_faceless_photo_with_a_mask_is_treated_where_the_mask_says(top_head):
    sim = simulate(top_head.rgb, mm_per_px=top_head.mm_per_px, mask=top_head.bald_mask, seed=1)
    assert sim.mask_source == "mask"
    assert sim.treatment_area_cm2 == pytest.approx(top_head.bald_area_cm2, rel=0.1)
