"""Re-entering the pipeline: an edit re-runs only the stages that depend on it."""

from __future__ import annotations

import numpy as np
import pytest

from pointillist.errors import PointillistError
from pointillist.imaging.simulate import STAGES, simulate, stages_to_rerun


@pytest.fixture()
def front_sim(front_head):
    return simulate(front_head.rgb, landmarks=front_head.keypoints, seed=3)


def test_dependencies_follow_the_pipeline():
    assert stages_to_rerun({"hairline_height_cm"}) == {
        "hairline",
        "treatment",
        "impressions",
        "render",
        "compose",
    }
    assert stages_to_rerun({"years"}) == {"skin", "render", "compose"}
    assert stages_to_rerun({"area_add"}) == {"treatment", "impressions", "render", "compose"}
    assert stages_to_rerun({"mm_per_px"}) >= {"head", "hairline", "render"}
    assert stages_to_rerun({"face"}) == set(STAGES) - {"load"}
    assert stages_to_rerun(set()) == set()


def test_a_moved_hairline_reruns_from_the_hairline_and_changes_the_preview(front_sim):
    before_line = front_sim.hairline.points.copy()
    before_image = front_sim.session_images[-1].copy()
    regions = front_sim.regions
    rerun = front_sim.update(hairline_height_cm=6.5)
    assert rerun == ["hairline", "treatment", "impressions", "render", "compose"]
    assert front_sim.regions is regions  # not recomputed
    # A lower line: the mid-frontal point moves down the forehead (y grows).
    assert front_sim.hairline.points[:, 1].mean() > before_line[:, 1].mean()
    assert not np.array_equal(front_sim.session_images[-1], before_image)
    assert front_sim.update(hairline_height_cm=6.5) == []


def test_years_reuse_the_impressions(front_sim):
    impressions = front_sim.impressions
    assert front_sim.update(years=5.0) == ["skin", "render", "compose"]
    assert front_sim.impressions is impressions


def test_painted_edits_add_and_remove_area(front_sim, front_head):
    h, w = front_head.rgb.shape[:2]
    area = front_sim.treatment_area_cm2
    remove = np.zeros((h // 4, w // 4), bool)  # edits may be painted on a reduced copy
    remove[:, : w // 8] = True
    front_sim.update(area_remove=remove)
    assert front_sim.treatment_area_cm2 < area
    xs = front_sim.impressions.xy[:, 0]
    assert not np.any(xs < w / 2 - 2 * 4)  # nothing left in the removed half
    add = np.zeros((h, w), bool)
    add[int(0.6 * h) : int(0.7 * h), int(0.4 * w) : int(0.6 * w)] = True
    front_sim.update(area_remove=None, area_add=add)
    assert front_sim.treatment_area_cm2 > area
    inside = front_sim.impressions.xy
    in_added = (inside[:, 1] > 0.6 * h + 8) & (inside[:, 1] < 0.7 * h - 8)
    assert in_added.sum() > 10
    assert "edited" in front_sim.mask_source


def test_bad_updates_are_refused_and_change_nothing(front_sim):
    options = front_sim.options
    with pytest.raises(PointillistError, match=r"0\.2 to 1\.5"):
        front_sim.update(density=3.0)
    with pytest.raises(PointillistError, match="unknown simulation option"):
        front_sim.update(colour="red")
    with pytest.raises(PointillistError, match="--face 2"):
        front_sim.update(face=2)
    assert front_sim.options is options or front_sim.options == options


def test_density_scales_the_impressions(front_sim):
    full = len(front_sim.impressions)
    front_sim.update(density=0.5)
    assert len(front_sim.impressions) == pytest.approx(full / 2, rel=0.1)


def test_options_follow_a_resized_photo(front_sim, front_head):
    import cv2

    moved = front_sim.options
    hl = front_sim.hairline
    front_sim.update(hairline_anchors=(hl.mid_frontal, hl.temple_right, hl.temple_left))
    small = front_sim.options
    big = small.rescaled(2.0)
    assert big.hairline_anchors[0] == pytest.approx((2 * hl.mid_frontal[0], 2 * hl.mid_frontal[1]))
    assert big.landmarks.glabella == pytest.approx(
        (2 * front_head.keypoints.glabella[0], 2 * front_head.keypoints.glabella[1])
    )
    h, w = front_head.rgb.shape[:2]
    large = cv2.resize(front_head.rgb, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    sim = simulate(large, **vars_of(big))
    # The same design on the photo twice the size: the key points land twice as far.
    assert sim.hairline.mid_frontal == pytest.approx(
        (2 * hl.mid_frontal[0], 2 * hl.mid_frontal[1]), abs=3.0
    )
    assert sim.treatment_area_cm2 == pytest.approx(front_sim.treatment_area_cm2, rel=0.05)
    assert moved is not small


def vars_of(options):
    import dataclasses

    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


def test_a_lazy_simulation_renders_only_the_session_asked_with_the_same_pixels(front_head):
    from pointillist.imaging.simulate import SimulationOptions, prepare

    full = simulate(front_head.rgb, landmarks=front_head.keypoints, seed=3)
    lazy = prepare(front_head.rgb, SimulationOptions(seed=3), landmarks=front_head.keypoints)
    lazy.lazy = True
    lazy.run(STAGES[1:])
    assert lazy.rendered == {} and lazy.composed == {}
    assert np.array_equal(lazy.session_image(2), full.session_images[1])
    assert set(lazy.rendered) == {2}  # the other sessions are left for when they are asked
    assert lazy.sessions == full.sessions

    # After an edit, the session shown is rendered afresh, as the full pipeline renders it.
    full.update(hairline_height_cm=6.5)
    lazy.update(hairline_height_cm=6.5)
    assert lazy.rendered == {}
    last = full.sessions
    assert np.array_equal(lazy.session_image(last), full.session_images[-1])
    assert np.array_equal(lazy.before_after, full.before_after)
    assert np.array_equal(lazy.overlay, full.overlay)
    assert lazy.to_json()["sessions"] == full.to_json()["sessions"]


def test_a_refused_edit_keeps_the_lazily_rendered_session(front_sim):
    front_sim.lazy = True
    front_sim.update(years=2.0)
    shown = front_sim.session_image(1)
    with pytest.raises(PointillistError):
        front_sim.update(years=2.0, density=9.0)
    assert front_sim.session_image(1) is shown


def test_a_chosen_shade_changes_only_the_look(front_sim):
    from pointillist.color.dot import shades_light_to_dark

    recommended = front_sim.dot_look.shade
    assert recommended is not None
    before = front_sim.session_images[-1].copy()
    impressions = front_sim.impressions
    shades = [s.id for s in shades_light_to_dark()]
    lightest, darkest = shades[0], shades[-1]

    assert front_sim.update(shade=darkest) == ["skin", "render", "compose"]
    assert front_sim.impressions is impressions
    assert front_sim.to_json()["shade"] == darkest
    dark = front_sim.session_images[-1].astype(int).sum()
    front_sim.update(shade=lightest)
    light = front_sim.session_images[-1].astype(int).sum()
    assert light > dark  # a more diluted mix draws lighter dots on the same skin

    # Choosing the recommended shade draws exactly the default preview.
    front_sim.update(shade=recommended)
    assert np.array_equal(front_sim.session_images[-1], before)


def test_an_unknown_shade_is_refused_naming_the_valid_ones(front_sim):
    with pytest.raises(PointillistError, match=r"unknown pigment shade 'cb-9'; choose one of: "):
        front_sim.update(shade="cb-9")
    assert front_sim.options.shade is None
