"""Healed-dot predictions, fading and the shade recommendation."""

import numpy as np
import pytest

from pointillist.color import (
    catalogue,
    delta_e00,
    find_shade,
    predict_dot,
    recommend,
    skin_from_fitzpatrick,
)
from pointillist.color.dot import lab_to_linear_srgb, linear_srgb_to_lab

LIGHT = skin_from_fitzpatrick(2).lab
MEDIUM = skin_from_fitzpatrick(4).lab
DARK = skin_from_fitzpatrick(6).lab


def test_generic_catalogue_is_carbon_black_from_undiluted_to_one_in_seven():
    shades = catalogue()
    assert [s.dilution for s in shades] == [0, 1, 2, 3, 4, 5, 6]
    carbon = [s.carbon_mg_per_cm2 for s in shades]
    assert carbon[0] / carbon[6] == pytest.approx(7.0)


def test_more_dilution_gives_a_lighter_dot():
    lightness = [predict_dot(MEDIUM, s, 0.3).lab[0] for s in catalogue()]
    assert np.all(np.diff(lightness) > 0)
    assert lightness[-1] < MEDIUM[0]


@pytest.mark.parametrize("skin", [LIGHT, MEDIUM, DARK])
def test_deeper_pigment_is_bluer_and_lower_contrast(skin):
    shade = find_shade("cb-1:0")
    dots = [predict_dot(skin, shade, d) for d in (0.2, 0.3, 0.45, 0.6)]
    assert np.all(np.diff([d.delta_e00_to_skin for d in dots]) < 0)
    # Under the most melanin the dermis shows too little for the hue to move much.
    if skin != DARK:
        assert np.all(np.diff([d.blue_shift_deg for d in dots]) > 0)


def test_darker_skin_shows_the_same_dot_with_less_contrast():
    shade = find_shade("cb-1:0")
    contrasts = [predict_dot(s, shade, 0.3).delta_e00_to_skin for s in (LIGHT, MEDIUM, DARK)]
    assert contrasts == sorted(contrasts, reverse=True)


@pytest.mark.parametrize("shade_id", ["cb-1:0", "cb-1:3", "cb-1:6"])
def test_years_of_fading_reduce_contrast_and_drift_blue(shade_id):
    shade = find_shade(shade_id)
    dots = [predict_dot(LIGHT, shade, 0.35, years) for years in (0, 1, 3, 6)]
    assert np.all(np.diff([d.delta_e00_to_skin for d in dots]) < 0)
    assert dots[-1].blue_shift_deg > dots[0].blue_shift_deg


def test_predicted_lab_is_the_skin_times_the_ratio():
    dot = predict_dot(MEDIUM, find_shade("cb-1:2"), 0.3, 2.0)
    rebuilt = linear_srgb_to_lab(lab_to_linear_srgb(MEDIUM) * np.asarray(dot.ratio))
    assert delta_e00(rebuilt, dot.lab) < 1e-6
    assert delta_e00(dot.lab, MEDIUM) == pytest.approx(dot.delta_e00_to_skin)


def test_lighter_skin_gets_the_more_diluted_shade():
    recommended = [recommend(skin_from_fitzpatrick(n).lab).best.healed for n in range(1, 7)]
    dilutions = [r.shade.dilution for r in recommended]
    assert dilutions == sorted(dilutions, reverse=True)
    assert dilutions[0] >= 4 and dilutions[-1] == 0
    for r in recommended:
        assert 0.2 <= r.depth_mm <= 0.6


def test_recommendation_aims_at_the_stubble_contrast_where_reachable():
    rec = recommend(LIGHT)
    assert rec.goal == "stubble"
    assert abs(rec.best.healed.delta_e00_to_skin - rec.target_delta_e00) < 2.0
    assert len(rec.alternatives) == 3
    assert rec.best.healed.shade.id not in {a.healed.shade.id for a in rec.alternatives}
    assert all(a.score >= rec.best.score for a in rec.alternatives)
    text = " ".join(rec.explanation())
    assert rec.best.healed.shade.name in text and "blue" in text


def test_fixed_depth_is_used():
    rec = recommend(MEDIUM, depth_mm=0.5)
    assert rec.best.healed.depth_mm == 0.5
    assert all(a.healed.depth_mm == 0.5 for a in rec.alternatives)


def test_dark_hair_match_chooses_a_darker_shade_than_light_hair():
    dark_hair = recommend(LIGHT, hair_lab=(22.0, 2.0, 4.0)).best.healed
    fair_hair = recommend(LIGHT, hair_lab=(64.0, 4.0, 12.0)).best.healed
    assert dark_hair.lab[0] < fair_hair.lab[0]
    assert dark_hair.shade.dilution < fair_hair.shade.dilution


def test_brand_shade_is_fitted_to_its_measured_dot(tmp_path):
    reference = predict_dot(LIGHT, find_shade("cb-1:3"), 0.35)
    catalogue_file = tmp_path / "pigments.toml"
    catalogue_file.write_text(
        "[[generic_shades]]\n"
        'id = "cb-1:0"\nname = "Carbon black, undiluted"\ndilution = 0\n\n'
        "[[brand_shades]]\n"
        'id = "acme-ash"\nname = "Acme Ash"\n'
        f"measured = {{ skin_lab = {list(LIGHT)}, dot_lab = {list(reference.lab)}, "
        "depth_mm = 0.35 }\n\n"
        "[recommendation]\n"
        "stubble_contrast_delta_e00 = 12.0\ncontrast_tolerance_delta_e00 = 4.0\n"
        "hair_match_tolerance_delta_e00 = 6.0\ndepth_min_mm = 0.2\ndepth_max_mm = 0.4\n"
        "depth_step_mm = 0.1\nhorizon_years = 3.0\nblue_shift_tolerance_deg = 5.0\n"
        "alternatives = 3\n"
    )
    brand = find_shade("acme-ash", catalogue_file)
    assert brand.brand
    assert brand.dilution == pytest.approx(3.0, abs=0.05)
    rec = recommend(MEDIUM, override=catalogue_file)
    assert {rec.best.healed.shade.id, *(a.healed.shade.id for a in rec.alternatives)} == {
        "cb-1:0",
        "acme-ash",
    }
