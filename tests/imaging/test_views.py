"""Top and back views: what the pipeline says when there is no face."""

from __future__ import annotations

from pointillist.imaging.simulate import simulate


def test_a_top_view_with_its_scale_does_not_warn_about_the_missing_face(top_head):
    sim = simulate(top_head.rgb, mm_per_px=top_head.mm_per_px, seed=2)
    assert sim.keypoints is None
    assert not any("no face" in w for w in sim.warnings)


def test_a_photo_without_face_or_scale_says_the_whole_head_is_treated(top_head):
    sim = simulate(top_head.rgb, head_width_mm=152.0, seed=2)
    assert any("no face found" in w for w in sim.warnings)
