"""The dot look: calibrated by the area, steered by the optics, tabulated for speed."""

import itertools
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointillist.color import dot_look, skin_from_fitzpatrick
from pointillist.color.dot import blue_angle_deg, lab_to_linear_srgb, linear_srgb_to_lab
from pointillist.color.look import (
    _model_optics,
    _tabulated_optics,
    area_drop_l,
    area_target_drop_l,
    build_ratio_table,
    ink_per_dot_mm2,
    relative_optics,
)
from pointillist.data import load_table
from pointillist.errors import PointillistError

TYPES = range(1, 7)


def _full_density_drop(skin_lab, look, fraction=1.0):
    per_mm2 = load_table("plan")["density"]["final_per_cm2"] / 100.0 * fraction
    darkened = per_mm2 * look.coverage * ink_per_dot_mm2(look.ratio_rgb, look.halo_mm)
    return area_drop_l(skin_lab, look.ratio_rgb, darkened)


@pytest.mark.parametrize("fitzpatrick", TYPES)
def test_full_density_meets_the_target_of_each_skin_type(fitzpatrick):
    skin = skin_from_fitzpatrick(fitzpatrick)
    look = dot_look(skin.lab)
    target = area_target_drop_l(skin.ita_deg)
    assert look.target_drop_l == pytest.approx(target)
    assert look.full_density_drop_l == pytest.approx(target, abs=0.05)
    assert _full_density_drop(skin.lab, look) == pytest.approx(target, abs=0.05)
    assert 0.0 < look.coverage <= 1.0
    # Healed dots read well beyond the needle: 0.5-1 mm with their halo.
    assert 0.5 <= look.apparent_diameter_mm <= 1.1


def test_targets_follow_the_data_file_and_fall_with_darker_skin():
    drops = [area_target_drop_l(skin_from_fitzpatrick(n).ita_deg) for n in TYPES]
    assert drops == sorted(drops, reverse=True)
    table = load_table("rendering")["area_target"]["drop_l_by_fitzpatrick"]
    assert drops == pytest.approx(table, abs=1e-2)


def test_sessions_below_full_density_give_proportionally_less():
    skin = skin_from_fitzpatrick(2).lab
    look = dot_look(skin)
    drops = [_full_density_drop(skin, look, f) for f in (0.3, 0.55, 0.8, 1.0)]
    assert drops == sorted(drops)
    assert drops[0] < 0.4 * drops[-1]


def test_the_dot_core_is_dark_stubble_on_light_skin():
    skin = skin_from_fitzpatrick(2).lab
    dot = linear_srgb_to_lab(lab_to_linear_srgb(skin) * np.asarray(dot_look(skin).ratio_rgb))
    stubble = load_table("rendering")["stubble"]["lab"]
    assert abs(dot[0] - stubble[0]) < 8.0
    assert abs(dot[1]) < 6.0 and abs(dot[2]) < 8.0  # near neutral, like dark hair


def test_years_lighten_the_dots_and_turn_them_bluer():
    skin = skin_from_fitzpatrick(3).lab
    looks = [dot_look(skin, years=y) for y in (0.0, 3.0, 8.0)]
    for earlier, later in itertools.pairwise(looks):
        assert all(b > a for a, b in zip(earlier.ratio_rgb, later.ratio_rgb, strict=True))
        assert later.full_density_drop_l < earlier.full_density_drop_l
        assert later.coverage == earlier.coverage
    angles = []
    for look in looks:
        dot = linear_srgb_to_lab(lab_to_linear_srgb(skin) * np.asarray(look.ratio_rgb))
        angles.append(blue_angle_deg(dot, skin))
    assert angles == sorted(angles)


def test_deeper_pigment_steers_the_dot_toward_blue():
    skin = skin_from_fitzpatrick(2).lab
    shallow = dot_look(skin, shade="cb-1:3", depth_mm=0.2)
    deep = dot_look(skin, shade="cb-1:3", depth_mm=0.5)
    # Calibrated to the same area drop, but the deep dot is bluer (red darkened more).
    assert deep.target_drop_l == shallow.target_drop_l
    assert deep.ratio_rgb[2] / deep.ratio_rgb[0] > shallow.ratio_rgb[2] / shallow.ratio_rgb[0]


def test_tabulated_optics_match_the_model():
    for fitzpatrick, years in ((1, 0.0), (3, 3.0), (5, 10.0), (6, 2.0)):
        skin = skin_from_fitzpatrick(fitzpatrick)
        table = _tabulated_optics(skin.ita_deg, years)
        model = _model_optics(skin.lab, None, None, years)
        assert table.density == pytest.approx(model.density, abs=0.02)
        np.testing.assert_allclose(table.tint, model.tint, atol=0.01)


def test_the_table_file_is_what_the_generator_writes():
    grid = load_table("dot_ratios")
    itas, years = grid["ita_deg"][-3:], grid["years"][:3]
    fresh = build_ratio_table(itas, years)
    stored = np.asarray(grid["density_and_tint"])[-3:, :3]
    np.testing.assert_allclose(np.asarray(fresh["density_and_tint"]), stored, atol=1e-4)
    assert fresh["shade"] == grid["shade"][-3:]


def test_a_preview_look_needs_no_colour_science():
    code = (
        "import sys\n"
        "from pointillist.color import measure_skin, dot_look\n"
        "import numpy as np\n"
        "img = np.full((40, 40, 3), (200, 160, 140), np.uint8)\n"
        "skin = measure_skin(img, np.ones((40, 40), bool))\n"
        "dot_look(skin.lab, years=2.0)\n"
        "print('colour' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_relative_optics_of_the_reference_placement_is_one():
    skin = skin_from_fitzpatrick(2).lab
    density, tint, shade, depth = relative_optics(skin, shade="cb-1:3", depth_mm=0.15)
    assert density == pytest.approx(1.0)
    assert tint == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)
    assert (shade, depth) == ("cb-1:3", 0.15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shade": "magenta", "depth_mm": 0.3}, "unknown pigment shade"),
        ({"shade": "cb-1:3", "depth_mm": 0.05}, "depth"),
        ({"years": -1.0}, "years"),
    ],
)
def test_user_errors(kwargs, message):
    with pytest.raises(PointillistError, match=message):
        dot_look(skin_from_fitzpatrick(3).lab, **kwargs)


@settings(max_examples=30, deadline=None)
@given(
    lightness=st.floats(20.0, 85.0),
    a=st.floats(0.0, 18.0),
    b=st.floats(2.0, 30.0),
    years=st.floats(0.0, 25.0),
)
def test_any_skin_gets_a_darkening_look(lightness, a, b, years):
    look = dot_look((lightness, a, b), years=years)
    assert all(0.0 < c <= 1.0 for c in look.ratio_rgb)
    assert 0.0 < look.coverage <= 1.0
    assert look.full_density_drop_l is not None
    assert 0.0 < look.full_density_drop_l <= look.target_drop_l + 0.05
