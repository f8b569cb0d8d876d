"""Layered Kubelka-Munk reflectance of skin with and without a carbon-black pigment layer.

The skin is a stack of diffusing layers, each described by the Kubelka-Munk absorption
``K`` and scattering ``S`` coefficients (Kubelka & Munk 1931; Kubelka 1948 for the
hyperbolic solution of a finite layer)::

    epidermis (melanin)  /  dermis above the pigment  /  pigment layer  /  deep dermis

Absorption and scattering follow Jacques 2013 (Phys Med Biol 58:R37), haemoglobin Prahl
1999, carbon black Bond & Bergstrom 2006; every constant lives in ``data/optics.toml``.
Spectra are sampled from 400 to 700 nm in 10 nm steps and turned into CIE 1931 2 degree
XYZ under D65, CIELAB and linear sRGB with colour-science.

All thicknesses are in mm, coefficients in 1/cm, reflectances in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pointillist.data import load_table
from pointillist.errors import PointillistError

FloatArray = NDArray[np.float64]

_MM_TO_CM = 0.1


def _table() -> dict[str, Any]:
    return load_table("optics")


@cache
def wavelengths_nm() -> FloatArray:
    """The model's wavelength samples in nm (400 to 700 in 10 nm steps)."""
    w = _table()["wavelengths"]
    return np.arange(w["start_nm"], w["stop_nm"] + w["step_nm"] / 2, w["step_nm"], dtype=float)


@cache
def _coefficients() -> dict[str, FloatArray]:
    t = _table()
    lam = wavelengths_nm()
    base = t["baseline_absorption"]
    mua_base = base["offset_per_cm"] + base["amplitude_per_cm"] * np.exp(
        -(lam - base["centre_nm"]) / base["width_nm"]
    )
    mel = t["melanosome"]
    mua_mel = mel["absorption_at_500nm_per_cm"] * (lam / 500.0) ** -mel["exponent"]
    sc = t["scattering"]
    mus_reduced = sc["a_per_cm"] * (lam / 500.0) ** -sc["b"]
    blood = t["blood"]
    grid = np.asarray(blood["wavelengths_nm"], dtype=float)
    eps_oxy = np.interp(lam, grid, np.asarray(blood["oxy_molar_extinction"], dtype=float))
    eps_deoxy = np.interp(lam, grid, np.asarray(blood["deoxy_molar_extinction"], dtype=float))
    sat = blood["oxygen_saturation"]
    molar = blood["haemoglobin_g_per_l"] / blood["haemoglobin_molar_mass"]
    mua_blood = np.log(10.0) * molar * (sat * eps_oxy + (1.0 - sat) * eps_deoxy)
    cb = t["carbon_black"]
    # Absorption per (mg/cm2 of carbon in a 1 cm thick layer), i.e. 1/cm per mg/cm3.
    mua_carbon_unit = (
        cb["mass_absorption_cm2_per_g_at_550nm"] * 1e-3 * (lam / 550.0) ** -cb["angstrom_exponent"]
    )
    km = t["kubelka_munk"]
    blood_fraction = blood["dermis_blood_fraction"]
    mua_dermis = blood_fraction * mua_blood + (1.0 - blood_fraction) * mua_base
    return {
        "K_base": km["k_per_mua"] * mua_base,
        "K_mel": km["k_per_mua"] * mua_mel,
        "K_dermis": km["k_per_mua"] * mua_dermis,
        "K_carbon_unit": km["k_per_mua"] * mua_carbon_unit,
        "S": km["s_per_reduced_scattering"] * mus_reduced,
    }


def layer_reflectance_transmittance(
    k: FloatArray, s: FloatArray, thickness_mm: float
) -> tuple[FloatArray, FloatArray]:
    """Diffuse reflectance and transmittance of one Kubelka-Munk layer (hyperbolic solution).

    Parameters
    ----------
    k, s
        Kubelka-Munk absorption and scattering coefficients in 1/cm (``s`` > 0).
    thickness_mm
        Layer thickness in mm; 0 gives a transparent layer (R = 0, T = 1).
    """
    a = 1.0 + k / s
    b = np.sqrt(a * a - 1.0)
    # R = sinh(bSd) / (a sinh(bSd) + b cosh(bSd)), T = b / (same), multiplied through by
    # 2 exp(-bSd) so that very absorbing layers do not overflow.
    e = np.exp(-b * s * thickness_mm * _MM_TO_CM)
    denom = a * (1.0 - e * e) + b * (1.0 + e * e)
    return (1.0 - e * e) / denom, 2.0 * b * e / denom


def infinite_reflectance(k: FloatArray, s: FloatArray) -> FloatArray:
    """Reflectance of an optically thick layer: ``1 + K/S - sqrt((K/S)^2 + 2 K/S)``."""
    ratio = k / s
    result: FloatArray = 1.0 + ratio - np.sqrt(ratio * ratio + 2.0 * ratio)
    return result


def stack(
    top: tuple[FloatArray, FloatArray], below: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """Combine two layers (R, T) into one (Kubelka 1954 adding rule, diffuse light)."""
    r1, t1 = top
    r2, t2 = below
    denom = 1.0 - r1 * r2
    return r1 + t1 * t1 * r2 / denom, t1 * t2 / denom


@dataclass(frozen=True)
class PigmentLayer:
    """A band of healed carbon-black pigment in the dermis.

    Attributes
    ----------
    carbon_mg_per_cm2
        Effective areal density of carbon seen at dot scale, mg/cm2.
    depth_mm
        Depth of the top of the band below the skin surface, mm (at least the epidermis).
    thickness_mm
        Thickness of the band, mm.
    """

    carbon_mg_per_cm2: float
    depth_mm: float
    thickness_mm: float


def epidermis_mm() -> float:
    """Thickness of the model epidermis in mm (from the data file)."""
    return float(_table()["layers"]["epidermis_mm"])


def pigment_layer_mm() -> float:
    """Thickness of a freshly healed pigment band in mm (from the data file)."""
    return float(_table()["layers"]["pigment_layer_mm"])


def undiluted_carbon_mg_per_cm2() -> float:
    """Effective carbon areal density of a healed undiluted dot, mg/cm2 (calibrated)."""
    return float(_table()["carbon_black"]["healed_density_mg_per_cm2_undiluted"])


def skin_reflectance(melanin_fraction: float, pigment: PigmentLayer | None = None) -> FloatArray:
    """Diffuse reflectance spectrum of skin, bare or over a pigment band.

    Parameters
    ----------
    melanin_fraction
        Epidermal melanosome volume fraction (0-1): about 0.013-0.063 in light skin,
        0.11-0.16 in moderate, 0.18-0.43 in dark skin (Jacques 2013).
    pigment
        The pigment band, or None for bare skin.

    Returns
    -------
    Reflectance at :func:`wavelengths_nm`, each in [0, 1].
    """
    if not 0.0 <= melanin_fraction <= 1.0:
        raise PointillistError(
            f"melanin volume fraction {melanin_fraction} is out of range; give 0 to 1"
        )
    c = _coefficients()
    s = c["S"]
    k_epi = melanin_fraction * c["K_mel"] + (1.0 - melanin_fraction) * c["K_base"]
    epidermis = layer_reflectance_transmittance(k_epi, s, epidermis_mm())
    deep = infinite_reflectance(c["K_dermis"], s)
    if pigment is None:
        r, _ = stack(epidermis, (deep, np.zeros_like(deep)))
        return _saunderson(r)
    if pigment.depth_mm < epidermis_mm() or pigment.thickness_mm <= 0.0:
        raise PointillistError(
            f"pigment at {pigment.depth_mm} mm sits in the epidermis "
            f"({epidermis_mm()} mm); give a depth in the dermis"
        )
    dermis_above = layer_reflectance_transmittance(
        c["K_dermis"], s, pigment.depth_mm - epidermis_mm()
    )
    k_pig = c["K_dermis"] + c["K_carbon_unit"] * (
        pigment.carbon_mg_per_cm2 / (pigment.thickness_mm * _MM_TO_CM)
    )
    band = layer_reflectance_transmittance(k_pig, s, pigment.thickness_mm)
    top = stack(stack(epidermis, dermis_above), band)
    r, _ = stack(top, (deep, np.zeros_like(deep)))
    return _saunderson(r)


def _saunderson(r: FloatArray) -> FloatArray:
    surface = _table()["surface"]
    r_ext, r_int = surface["r_external"], surface["r_internal"]
    seen: FloatArray = (1.0 - r_ext) * (1.0 - r_int) * r / (1.0 - r_int * r)
    return seen


@cache
def _xyz_weights() -> FloatArray:
    import colour

    lam = wavelengths_nm()
    shape = colour.SpectralShape(float(lam[0]), float(lam[-1]), float(lam[1] - lam[0]))
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"].copy().align(shape)
    illuminant = colour.SDS_ILLUMINANTS["D65"].copy().align(shape)
    weights = (
        np.asarray(cmfs.values, dtype=float) * np.asarray(illuminant.values, dtype=float)[:, None]
    )
    # Normalise each channel so that the perfect diffuser lands exactly on the tabulated
    # D65 white: sampling every 10 nm over 400-700 nm alone leaves it about 0.2 a* off.
    white = weights.sum(axis=0)
    target = _D65_XYZ
    normalised: FloatArray = weights * (target / white)
    return normalised


def reflectance_to_xyz(reflectance: FloatArray) -> FloatArray:
    """CIE 1931 2 degree XYZ (Y of the perfect diffuser = 1) of a reflectance under D65.

    Integration over the model's 10 nm samples with colour-science's tabulated
    colour-matching functions and D65 spectrum (as ``colour.sd_to_XYZ(...,
    method="Integration")``), each channel scaled so that the perfect diffuser is the
    D65 white point exactly.
    """
    xyz: FloatArray = np.asarray(reflectance, dtype=float) @ _xyz_weights()
    return xyz


# The colour-space conversions below are closed formulas (CIE 15:2004 for CIELAB, IEC
# 61966-2-1 for sRGB), so that measuring a skin and rendering a preview never import
# colour-science (about 0.8 s); the tests check them against colour-science.
_D65_XY = (0.3127, 0.3290)
"""D65 white, CIE 1931 2 degree chromaticity (CIE 15:2004; colour-science's value)."""
_D65_XYZ = np.array([_D65_XY[0] / _D65_XY[1], 1.0, (1.0 - sum(_D65_XY)) / _D65_XY[1]])
_SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
_XYZ_TO_SRGB = np.array(
    [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]]
)
SRGB_LUMINANCE = (0.2126, 0.7152, 0.0722)
"""Relative luminance Y of linear sRGB, per channel (IEC 61966-2-1)."""
_LAB_EPSILON = 216.0 / 24389.0
_LAB_KAPPA = 24389.0 / 27.0


def _d65_xy() -> FloatArray:
    return np.asarray(_D65_XY, dtype=float)


def _lab_f(t: FloatArray) -> FloatArray:
    f: FloatArray = np.where(
        t > _LAB_EPSILON, np.cbrt(np.maximum(t, _LAB_EPSILON)), (_LAB_KAPPA * t + 16.0) / 116.0
    )
    return f


def lightness_from_y(y: FloatArray | float) -> FloatArray:
    """CIE L* of relative luminance ``Y`` (white Y = 1)."""
    y = np.asarray(y, dtype=float)
    f = _lab_f(y)
    result: FloatArray = 116.0 * f - 16.0
    return result


def y_from_lightness(lightness: FloatArray | float) -> FloatArray:
    """Relative luminance ``Y`` (white Y = 1) of CIE L*."""
    lightness = np.asarray(lightness, dtype=float)
    f = (lightness + 16.0) / 116.0
    result: FloatArray = np.where(f**3 > _LAB_EPSILON, f**3, lightness / _LAB_KAPPA)
    return result


def xyz_to_lab(xyz: FloatArray) -> FloatArray:
    """CIELAB (D65) of XYZ scaled so that the white has Y = 1 (CIE 15:2004)."""
    t = np.asarray(xyz, dtype=float) / _D65_XYZ
    f = _lab_f(t)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    lab: FloatArray = np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)
    return lab


def lab_to_xyz(lab: FloatArray) -> FloatArray:
    """XYZ (white Y = 1) of a CIELAB (D65) colour (CIE 15:2004)."""
    lab = np.asarray(lab, dtype=float)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    t = np.where(f**3 > _LAB_EPSILON, f**3, (116.0 * f - 16.0) / _LAB_KAPPA)
    # L* alone decides Y below the knee (CIE 15:2004).
    t[..., 1] = np.where(lab[..., 0] > _LAB_KAPPA * _LAB_EPSILON, fy**3, lab[..., 0] / _LAB_KAPPA)
    xyz: FloatArray = t * _D65_XYZ
    return xyz


def xyz_to_linear_srgb(xyz: FloatArray) -> FloatArray:
    """Linear-light sRGB (no transfer curve, not clipped) of XYZ under D65."""
    rgb: FloatArray = np.asarray(xyz, dtype=float) @ _XYZ_TO_SRGB.T
    return rgb


def linear_srgb_to_xyz(rgb: FloatArray) -> FloatArray:
    """XYZ (D65, white Y = 1) of linear-light sRGB."""
    xyz: FloatArray = np.asarray(rgb, dtype=float) @ _SRGB_TO_XYZ.T
    return xyz


def srgb_to_linear(encoded: FloatArray) -> FloatArray:
    """Linear light of sRGB-encoded values in [0, 1] (IEC 61966-2-1 transfer curve)."""
    v = np.asarray(encoded, dtype=float)
    linear: FloatArray = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return linear


def linear_to_srgb(linear: FloatArray) -> FloatArray:
    """sRGB-encoded values of linear light in [0, 1] (IEC 61966-2-1 transfer curve)."""
    v = np.clip(np.asarray(linear, dtype=float), 0.0, 1.0)
    encoded: FloatArray = np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1.0 / 2.4) - 0.055)
    return encoded


def reflectance_to_lab(reflectance: FloatArray) -> FloatArray:
    """CIELAB (D65, 2 degree observer) of a reflectance spectrum."""
    return xyz_to_lab(reflectance_to_xyz(reflectance))


@cache
def _bare_skin_table() -> tuple[FloatArray, FloatArray]:
    """Melanin fractions on a fine grid and the ITA of the model's bare skin at each."""
    from pointillist.domain.skin_type import ita_deg

    lo, hi = _table()["melanosome"]["search_fraction"]
    fractions = np.geomspace(lo, hi, 121)
    itas = np.array(
        [ita_deg(*_l_b(reflectance_to_lab(skin_reflectance(float(f))))) for f in fractions]
    )
    return fractions, itas


def _l_b(lab: FloatArray) -> tuple[float, float]:
    return float(lab[0]), float(lab[2])


def bare_skin_lab(melanin_fraction: float) -> tuple[float, float, float]:
    """CIELAB of the model's bare skin for an epidermal melanin volume fraction."""
    lab = reflectance_to_lab(skin_reflectance(melanin_fraction))
    return float(lab[0]), float(lab[1]), float(lab[2])


def melanin_fraction_for_ita(ita: float) -> float:
    """Epidermal melanin volume fraction whose model skin has this ITA (degrees).

    The model's ITA falls monotonically with melanin; values beyond the model's range
    are clamped to its ends (the lightest or darkest skin the model covers).
    """
    fractions, itas = _bare_skin_table()
    # itas decrease with fraction: interpolate on the reversed arrays, in log fraction.
    log_f = np.interp(ita, itas[::-1], np.log(fractions)[::-1])
    return float(np.exp(log_f))
