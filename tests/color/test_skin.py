"""Skin measurement from photo pixels: linearisation, robust average, colour-checker correction."""

import colour
import numpy as np
import pytest

from pointillist.color import delta_e00, measure_skin, skin_from_fitzpatrick, skin_from_lab
from pointillist.color.skin import box_mask, colorchecker_reference_linear_srgb
from pointillist.errors import PointillistError

SKIN_LAB = (62.0, 11.0, 17.0)


def _encode(linear):
    return np.round(
        np.clip(colour.cctf_encoding(np.clip(linear, 0, 1), function="sRGB"), 0, 1) * 255
    ).astype(np.uint8)


def _linear_of_lab(lab):
    xyz = colour.Lab_to_XYZ(
        np.asarray(lab), colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
    )
    return colour.XYZ_to_RGB(xyz, "sRGB", apply_cctf_encoding=False)


def test_uniform_patch_gives_its_own_lab_and_ita():
    rgb = np.zeros((30, 30, 3), np.uint8)
    rgb[:] = _encode(_linear_of_lab(SKIN_LAB))
    m = measure_skin(rgb, np.ones((30, 30), bool))
    assert delta_e00(m.lab, SKIN_LAB) < 0.5
    assert m.ita_deg == pytest.approx(np.degrees(np.arctan2(m.lab[0] - 50, m.lab[2])))
    assert m.category == "intermediate"
    assert m.fitzpatrick_estimate == 3
    assert "not interchangeable" in m.caveat


def test_dark_hairs_in_the_region_do_not_move_the_result():
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[:] = _encode(_linear_of_lab(SKIN_LAB))
    rng = np.random.default_rng(4)
    hairs = rng.random((40, 40)) < 0.07
    rgb[hairs] = (25, 20, 18)
    robust = measure_skin(rgb, np.ones((40, 40), bool))
    naive = measure_skin(rgb, np.ones((40, 40), bool), trim=0.0)
    assert delta_e00(robust.lab, SKIN_LAB) < 0.5
    assert delta_e00(naive.lab, SKIN_LAB) > 2.0


def _chart_photo(cast):
    """A photo with a ColorChecker 24 (30 px patches) and a skin patch, under a colour cast."""
    reference = colorchecker_reference_linear_srgb()
    linear = np.full((200, 260, 3), 0.18)
    for i, patch in enumerate(reference):
        row, col = divmod(i, 6)
        linear[10 + row * 30 : 10 + row * 30 + 26, 10 + col * 30 : 10 + col * 30 + 26] = patch
    linear[150:190, 20:80] = _linear_of_lab(SKIN_LAB)
    centre = lambda col, row: (10 + col * 30 + 13, 10 + row * 30 + 13)  # noqa: E731
    corners = [centre(0, 0), centre(5, 0), centre(5, 3), centre(0, 3)]
    return _encode(linear @ cast.T), corners


def test_colour_checker_correction_removes_a_colour_cast():
    cast = np.array([[1.10, 0.05, 0.0], [0.02, 0.95, 0.03], [0.0, 0.05, 0.70]])
    rgb, corners = _chart_photo(cast)
    mask = box_mask(rgb.shape, (20, 150, 60, 40))
    uncorrected = measure_skin(rgb, mask)
    corrected = measure_skin(rgb, mask, checker_corners=corners)
    assert delta_e00(uncorrected.lab, SKIN_LAB) > 4.0
    assert uncorrected.category != "intermediate"
    assert corrected.category == "intermediate"
    assert delta_e00(corrected.lab, SKIN_LAB) < 1.5


def test_checker_corners_outside_the_photo_are_a_user_error():
    rgb, corners = _chart_photo(np.eye(3))
    corners[2] = (5000, 5000)
    with pytest.raises(PointillistError, match="outside the photo"):
        measure_skin(rgb, box_mask(rgb.shape, (20, 150, 60, 40)), checker_corners=corners)


@pytest.mark.parametrize(
    ("rgb", "mask", "message"),
    [
        (np.zeros((10, 10, 3), np.float32), np.ones((10, 10), bool), "8-bit RGB"),
        (np.zeros((10, 10), np.uint8), np.ones((10, 10), bool), "8-bit RGB"),
        (np.zeros((10, 10, 3), np.uint8), np.ones((10, 9), bool), "boolean array"),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), bool), "at least"),
    ],
)
def test_bad_inputs_are_user_errors(rgb, mask, message):
    with pytest.raises(PointillistError, match=message):
        measure_skin(rgb, mask)


def test_box_outside_the_photo_is_refused():
    with pytest.raises(PointillistError, match="does not fit"):
        box_mask((100, 100, 3), (90, 10, 20, 20))


def test_fitzpatrick_reference_skins_get_their_own_type_back():
    for n in range(1, 7):
        skin = skin_from_fitzpatrick(n)
        assert skin.fitzpatrick_estimate == n
    lightness = [skin_from_fitzpatrick(n).lab[0] for n in range(1, 7)]
    assert lightness == sorted(lightness, reverse=True)


def test_bluish_skin_means_a_colour_cast_and_says_so():
    with pytest.raises(PointillistError, match="colour balance"):
        skin_from_lab((60.0, 5.0, -4.0))


def test_lab_out_of_range_is_a_user_error():
    with pytest.raises(PointillistError, match="out of range"):
        skin_from_lab((120.0, 0.0, 0.0))
