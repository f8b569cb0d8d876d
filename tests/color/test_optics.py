"""The layered Kubelka-Munk model: its algebra, its colorimetry and its physical directions."""

import colour
import numpy as np
import pytest

from pointillist.color import optics
from pointillist.color.dot import blue_angle_deg
from pointillist.domain.skin_type import ita_category, ita_deg

CATEGORY_ORDER = ["very light", "light", "intermediate", "tan", "brown", "dark"]


def _pigment(carbon, depth_mm, thickness_mm=0.1):
    return optics.PigmentLayer(carbon, depth_mm, thickness_mm)


def test_thick_layer_tends_to_infinite_reflectance():
    k = np.array([0.5, 2.0, 10.0])
    s = np.array([40.0, 30.0, 20.0])
    r, t = optics.layer_reflectance_transmittance(k, s, 50.0)
    np.testing.assert_allclose(r, optics.infinite_reflectance(k, s), rtol=1e-9)
    assert np.all(t < 1e-6)


def test_stacking_two_halves_equals_the_whole_layer():
    k, s = np.array([1.0, 5.0]), np.array([35.0, 45.0])
    whole = optics.layer_reflectance_transmittance(k, s, 0.4)
    half = optics.layer_reflectance_transmittance(k, s, 0.2)
    stacked = optics.stack(half, half)
    np.testing.assert_allclose(stacked[0], whole[0], rtol=1e-9)
    np.testing.assert_allclose(stacked[1], whole[1], rtol=1e-9)


def test_non_absorbing_layer_conserves_light():
    s = np.array([40.0])
    r, t = optics.layer_reflectance_transmittance(np.array([1e-12]), s, 0.3)
    assert r[0] + t[0] == pytest.approx(1.0, abs=1e-6)


def test_xyz_matches_colour_science_integration_relative_to_white():
    lam = optics.wavelengths_nm()
    reflectance = 0.2 + 0.5 * (lam - 400) / 300
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    d65 = colour.SDS_ILLUMINANTS["D65"].copy().align(cmfs.shape)

    def integrate(values):
        sd = colour.SpectralDistribution(dict(zip(lam, values, strict=True)))
        return colour.sd_to_XYZ(sd, cmfs, d65, method="Integration", shape=sd.shape)

    ones = np.ones_like(lam)
    expected = integrate(reflectance) / integrate(ones)
    actual = optics.reflectance_to_xyz(reflectance) / optics.reflectance_to_xyz(ones)
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


def test_perfect_white_is_l100_neutral():
    lab = optics.reflectance_to_lab(np.ones_like(optics.wavelengths_nm()))
    np.testing.assert_allclose(lab, [100.0, 0.0, 0.0], atol=1e-6)


def test_bare_skin_across_the_melanin_range_walks_the_ita_categories_in_order():
    fractions = np.geomspace(0.006, 0.43, 40)
    labs = np.array([optics.bare_skin_lab(float(f)) for f in fractions])
    itas = np.array([ita_deg(lab[0], lab[2]) for lab in labs])
    categories = [ita_category(float(i)) for i in itas]
    assert np.all(np.diff(itas) < 0), "ITA must fall as melanin rises"
    assert np.all(np.diff(labs[:, 0]) < 0), "darker skin must give lower L*"
    ranks = [CATEGORY_ORDER.index(c) for c in categories]
    assert ranks == sorted(ranks)
    assert set(categories) == set(CATEGORY_ORDER), "every category must be reachable"
    # Plausible skin colours (Del Bino 2006 and Chardon 1991 report L* about 25-75,
    # a* about 3-15, b* about 5-25 across skin types).
    assert labs[:, 0].min() > 18 and labs[:, 0].max() < 80
    assert np.all((labs[:, 1] > 2) & (labs[:, 1] < 15))
    assert np.all((labs[:, 2] > 5) & (labs[:, 2] < 26))


def test_literature_melanin_ranges_land_in_matching_categories():
    light = [ita_category(ita_deg(*_lb(optics.bare_skin_lab(f)))) for f in (0.013, 0.063)]
    dark = [ita_category(ita_deg(*_lb(optics.bare_skin_lab(f)))) for f in (0.18, 0.43)]
    assert CATEGORY_ORDER.index(light[0]) <= 1  # light skin (1.3%) is very light or light
    assert all(c == "dark" for c in dark)


def _lb(lab):
    return lab[0], lab[2]


@pytest.mark.parametrize("ita", [60.0, 45.0, 30.0, 15.0, -10.0, -40.0])
def test_melanin_inversion_reproduces_the_ita(ita):
    lab = optics.bare_skin_lab(optics.melanin_fraction_for_ita(ita))
    assert ita_deg(lab[0], lab[2]) == pytest.approx(ita, abs=0.5)


@pytest.mark.parametrize("melanin", [0.01, 0.04, 0.12])
def test_deeper_pigment_is_bluer_and_lower_contrast(melanin):
    skin = optics.bare_skin_lab(melanin)
    dots = [
        optics.reflectance_to_lab(optics.skin_reflectance(melanin, _pigment(0.03, d)))
        for d in (0.2, 0.35, 0.5, 0.7)
    ]
    contrasts = [colour.delta_E(dot, skin, method="CIE 2000") for dot in dots]
    angles = [blue_angle_deg(dot, skin) for dot in dots]
    assert np.all(np.diff(contrasts) < 0)
    assert np.all(np.diff(angles) > 0)


def test_more_carbon_gives_a_darker_dot():
    lightness = [
        optics.reflectance_to_lab(optics.skin_reflectance(0.03, _pigment(c, 0.3)))[0]
        for c in (0.002, 0.005, 0.01, 0.03)
    ]
    assert np.all(np.diff(lightness) < 0)
    assert lightness[0] < optics.bare_skin_lab(0.03)[0]


def test_pigment_in_the_epidermis_is_refused():
    from pointillist.errors import PointillistError

    with pytest.raises(PointillistError, match="epidermis"):
        optics.skin_reflectance(0.03, _pigment(0.03, 0.05))


def test_colour_conversions_match_colour_science():
    """The closed formulas that keep colour-science off the preview path."""
    rng = np.random.default_rng(7)
    white = optics._d65_xy()
    xyz = rng.uniform(0.0005, 1.0, (500, 3))
    lab = colour.XYZ_to_Lab(xyz, white)
    np.testing.assert_allclose(optics.xyz_to_lab(xyz), lab, atol=1e-9)
    np.testing.assert_allclose(optics.lab_to_xyz(lab), colour.Lab_to_XYZ(lab, white), atol=1e-12)
    rgb = rng.uniform(0.0, 1.0, (500, 3))
    np.testing.assert_allclose(
        optics.linear_srgb_to_xyz(rgb),
        colour.RGB_to_XYZ(rgb, "sRGB", white, apply_cctf_decoding=False),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        optics.xyz_to_linear_srgb(xyz),
        colour.XYZ_to_RGB(xyz, "sRGB", white, apply_cctf_encoding=False),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        optics.srgb_to_linear(rgb), colour.cctf_decoding(rgb, function="sRGB"), atol=1e-12
    )
    np.testing.assert_allclose(
        optics.linear_to_srgb(rgb), colour.cctf_encoding(rgb, function="sRGB"), atol=1e-12
    )
    y = rng.uniform(0.0, 1.0, 200)
    np.testing.assert_allclose(
        optics.lightness_from_y(y),
        colour.XYZ_to_Lab(np.stack([y * 0.95047, y, y * 1.08883], axis=-1), white)[:, 0],
        atol=1e-3,
    )
    np.testing.assert_allclose(optics.y_from_lightness(optics.lightness_from_y(y)), y, atol=1e-12)
