"""``pointillist pigment`` end to end: the JSON contract, photo input, and every error path."""

import json
import re

import colour
import numpy as np
import pytest
from PIL import Image

from pointillist.cli import main

SKIN_KEYS = {"lab", "ita_deg", "category", "fitzpatrick_estimate"}
CHOICE_KEYS = {"shade", "dilution", "depth_mm", "predicted_lab", "delta_e00_to_skin", "blue_shift"}
PREVIEW_KEYS = {
    "dot_lab",
    "dot_ratio_rgb",
    "coverage",
    "apparent_diameter_mm",
    "target_drop_l",
    "area_drop_l",
    "area_drop_l_later",
    "later_years",
}


def run_cli(capsys, *args):
    code = main(["pigment", *args])
    out, err = capsys.readouterr()
    return code, out, err


def pigment_json(capsys, *args):
    code, out, err = run_cli(capsys, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def _check_contract(data):
    assert set(data) == {"skin", "recommendation", "alternatives", "preview"}
    preview = data["preview"]
    assert set(preview) == PREVIEW_KEYS
    # The preview is calibrated by the area: a visible shadow, lighter years on.
    assert preview["area_drop_l"] == pytest.approx(preview["target_drop_l"], abs=0.1)
    assert 5.0 <= preview["area_drop_l"] <= 20.0
    assert preview["area_drop_l_later"] < preview["area_drop_l"]
    assert preview["dot_lab"][0] < data["skin"]["lab"][0] - 15
    assert set(data["skin"]) == SKIN_KEYS
    assert set(data["recommendation"]) == CHOICE_KEYS
    assert data["alternatives"]
    for alt in data["alternatives"]:
        assert set(alt) == CHOICE_KEYS
    rec = data["recommendation"]
    assert isinstance(rec["dilution"], float | int)
    assert len(rec["predicted_lab"]) == 3
    assert rec["predicted_lab"][0] < data["skin"]["lab"][0]


def test_fitzpatrick_json_contract(capsys):
    data = pigment_json(capsys, "--fitzpatrick", "2")
    _check_contract(data)
    assert data["skin"]["fitzpatrick_estimate"] == 2
    assert data["recommendation"]["shade"].startswith("cb-")


def test_roman_fitzpatrick_is_accepted(capsys):
    assert pigment_json(capsys, "--fitzpatrick", "IV") == pigment_json(capsys, "--fitzpatrick", "4")


def test_lighter_skin_gets_more_diluent_on_the_command_line(capsys):
    light = pigment_json(capsys, "--fitzpatrick", "1")["recommendation"]["dilution"]
    dark = pigment_json(capsys, "--fitzpatrick", "6")["recommendation"]["dilution"]
    assert light > dark


def test_lab_input_is_kept_and_depth_is_honoured(capsys):
    data = pigment_json(capsys, "--lab", "60", "9", "18", "--depth-mm", "0.45")
    _check_contract(data)
    assert data["skin"]["lab"] == [60.0, 9.0, 18.0]
    assert data["recommendation"]["depth_mm"] == 0.45
    assert all(alt["depth_mm"] == 0.45 for alt in data["alternatives"])


def test_ita_input(capsys):
    data = pigment_json(capsys, "--ita", "20")
    assert data["skin"]["ita_deg"] == pytest.approx(20.0, abs=0.1)
    assert data["skin"]["category"] == "tan"


def test_hair_lab_changes_the_goal(capsys):
    stubble = pigment_json(capsys, "--fitzpatrick", "3")["recommendation"]
    hair = pigment_json(capsys, "--fitzpatrick", "3", "--hair-lab", "20", "2", "3")
    assert hair["recommendation"]["predicted_lab"][0] <= stubble["predicted_lab"][0]


def _skin_png(path, lab, size=(80, 60)):
    xyz = colour.Lab_to_XYZ(
        np.asarray(lab), colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
    )
    srgb = np.clip(colour.XYZ_to_sRGB(xyz), 0, 1)
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[:] = np.round(srgb * 255).astype(np.uint8)
    pixels[:10] = (30, 25, 20)  # dark hair above the box
    Image.fromarray(pixels).save(path)


def test_photo_with_box(capsys, tmp_path):
    photo = tmp_path / "scalp.png"
    _skin_png(photo, (58.0, 10.0, 19.0))
    data = pigment_json(capsys, "--photo", str(photo), "--box", "10,20,50,30")
    _check_contract(data)
    assert data["skin"]["lab"] == pytest.approx([58.0, 10.0, 19.0], abs=0.6)


def test_photo_without_box_measures_the_forehead(capsys, tmp_path):
    skimage_data = pytest.importorskip("skimage.data")
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage_data.astronaut()).save(photo)
    data = pigment_json(capsys, "--photo", str(photo))
    _check_contract(data)
    lightness, a, b = data["skin"]["lab"]
    assert 50 < lightness < 90 and 3 < a < 20 and 5 < b < 30


def test_text_output_explains_and_carries_the_caveat(capsys):
    code, out, err = run_cli(capsys, "--fitzpatrick", "4")
    assert code == 0, err
    assert "Recommended" in out and "CIEDE2000" in out and "blue" in out
    assert "not interchangeable" in out
    assert "alt 1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one way"),
        (["--ita", "20", "--fitzpatrick", "3"], "exactly one way"),
        (["--fitzpatrick", "7"], "give 1 to 6"),
        (["--fitzpatrick", "VII"], "give 1 to 6"),
        (["--ita", "120"], "out of range"),
        (["--lab", "150", "0", "0"], "out of range"),
        (["--lab", "60", "5"], "requires 3 arguments"),
        (["--ita", "20", "--box", "1,2,3,4"], "go with --photo"),
        (["--ita", "20", "--depth-mm", "0.05"], "depth"),
        (["--ita", "20", "--depth-mm", "-1"], "depth"),
        (["--photo", "/nonexistent/p.jpg"], "not found"),
        (["--ita", "20", "--pigments", "/nonexistent/pigments.toml"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_photo_errors(capsys, tmp_path):
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("not a photo")
    code, _, err = run_cli(capsys, "--photo", str(not_image), "--box", "0,0,5,5")
    assert code == 2 and err.count("\n") == 1
    photo = tmp_path / "scalp.png"
    _skin_png(photo, (58.0, 10.0, 19.0))
    for box, message in (("10,20,500,30", "does not fit"), ("a,b,c,d", "x,y,w,h")):
        code, _, err = run_cli(capsys, "--photo", str(photo), "--box", box)
        assert code == 2 and message in err
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(blank)
    code, _, err = run_cli(capsys, "--photo", str(blank))
    assert code == 2 and "--box" in err


def _documented_brand_block():
    """The [[brand_shades]] example exactly as docs/pigment.md shows it."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "pigment.md").read_text(encoding="utf-8")
    start = doc.index("```toml\n[[brand_shades]]")
    return doc[start + len("```toml\n") : doc.index("```", start + 7)]


@pytest.mark.parametrize("with_catalogue", [False, True])
def test_the_documented_brand_shade_works_alone_and_added_to_a_catalogue(
    tmp_path, capsys, with_catalogue
):
    from importlib import resources

    from pointillist.color.dot import catalogue

    block = _documented_brand_block()
    text = block
    if with_catalogue:
        packaged = resources.files("pointillist.data").joinpath("pigments.toml").read_text("utf-8")
        text = packaged + "\n" + block
    clinic = tmp_path / "clinic_pigments.toml"
    clinic.write_text(text)
    code, _out, err = run_cli(capsys, "--fitzpatrick", "2", "--pigments", str(clinic))
    assert code == 0, err
    shades = {s.id: s for s in catalogue(clinic)}
    assert shades["acme-dark-ash"].brand
    assert "cb-1:0" in shades and "cb-1:6" in shades  # the generic dilutions are kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[brand_shades]]\nid = "x"\nname = "X"\n'
            "measured = { skin_lab = [65.0, 8.0, 17.0], dot_lab = [57.0, 4.0, 11.0], "
            "depth_mm = -0.3 }\n",
            r"brand_shades\[1\]\.measured\.depth_mm: must be more than 0",
        ),
        (
            '[[brand_shades]]\nid = "x"\nname = "X"\n'
            "measured = { skin_lab = [65.0, 8.0], dot_lab = [57.0, 4.0, 11.0], depth_mm = 0.3 }\n",
            r"brand_shades\[1\]\.measured\.skin_lab: must be 3 or more items long",
        ),
        ("[recommendation]\nhorizon_year = 3\n", r"recommendation\.horizon_year: unknown key"),
        ('[recommendation]\nalternatives = "three"\n', r"must be a whole number, not 'three'"),
    ],
)
def test_a_bad_pigments_file_is_one_line_naming_the_key(tmp_path, capsys, text, expected):
    clinic = tmp_path / "clinic_pigments.toml"
    clinic.write_text(text)
    code, _out, err = run_cli(capsys, "--fitzpatrick", "2", "--pigments", str(clinic))
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "clinic_pigments.toml: " in err
    assert re.search(expected, err), err
