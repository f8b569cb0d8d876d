"""The figures the preview is judged by (bench/preview_quality.py) measure what they say."""

import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "preview"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pq = _load("preview_quality")


def test_lstar_matches_colour_science():
    colour = pytest.importorskip("colour")
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [222, 176, 146], [46, 36, 30], [10, 200, 90]]])
    expected = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb / 255.0))[..., 0]
    assert pq.srgb_to_lstar(rgb[..., ::-1].astype(np.uint8)) == pytest.approx(expected, abs=0.01)


def _darken(grey: np.ndarray, where: np.ndarray, by_lstar: float) -> np.ndarray:
    """A uniform grey image with the grey level ``by_lstar`` L* darker ``where``."""
    levels = pq.srgb_to_lstar(np.repeat(np.arange(256, dtype=np.uint8), 3).reshape(1, 256, 3))
    wanted = pq.srgb_to_lstar(grey[:1, :1])[0, 0] - by_lstar
    out = grey.copy()
    out[where] = int(np.argmin(np.abs(levels[0] - wanted)))
    return out


def test_shadow_exactly_on_the_mask_covers_it_without_spill():
    photo = np.full((400, 400, 3), 180, np.uint8)
    mask = np.zeros((400, 400), bool)
    mask[100:300, 100:300] = True
    figures = pq.score(photo, _darken(photo, mask, 10.0), mask)
    assert figures["dL"] == pytest.approx(10.0, abs=1.5)  # smoothing softens the edge only
    assert figures["cover"] > 0.9
    assert figures["spill"] == pytest.approx(0.0, abs=1e-6)


def test_shadow_beside_the_mask_is_spill_and_no_cover():
    photo = np.full((400, 400, 3), 180, np.uint8)
    mask = np.zeros((400, 400), bool)
    mask[20:120, 20:120] = True
    elsewhere = np.zeros_like(mask)
    elsewhere[250:380, 250:380] = True
    figures = pq.score(photo, _darken(photo, elsewhere, 10.0), mask)
    assert figures["cover"] == 0.0
    assert figures["spill"] == pytest.approx(1.0)


def test_nothing_drawn_has_no_spill_figure():
    photo = np.full((100, 100, 3), 180, np.uint8)
    mask = np.zeros((100, 100), bool)
    mask[30:70, 30:70] = True
    figures = pq.score(photo, photo.copy(), mask)
    assert figures["cover"] == 0.0
    assert figures["spill"] is None


def test_every_fixture_photo_has_a_mask_of_its_size_on_the_head():
    photos = sorted(p for p in FIXTURES.glob("*.jpg"))
    assert len(photos) >= 22
    for photo in photos:
        mask = cv2.imread(str(FIXTURES / f"{photo.stem}.mask.png"), cv2.IMREAD_GRAYSCALE)
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        assert mask is not None and mask.shape == image.shape[:2], photo.name
        share = np.count_nonzero(mask >= 128) / mask.size
        assert 0.005 < share < 0.5, photo.name


INDEPENDENT = FIXTURES.parent / "preview_independent"


def test_a_second_mask_set_pairs_its_masks_with_the_fixture_photos():
    pairs = pq.find_pairs(FIXTURES, None, INDEPENDENT)
    assert len(pairs) == 19  # the public-domain portraits, not the synthetic heads
    for photo, mask in pairs:
        assert photo.parent == FIXTURES and mask.parent == INDEPENDENT
        assert mask.name == f"{photo.stem}.mask.png"
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        drawn = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
        assert drawn is not None and drawn.shape == image.shape[:2], photo.name
        assert np.count_nonzero(drawn >= 128) > 0, photo.name
    assert pq.results_key(INDEPENDENT) == "preview_quality_independent"
    assert pq.results_key(None) == "preview_quality"


def test_independent_masks_are_what_their_recipes_draw():
    masks = _load("preview_masks_independent")
    for recipe_path in sorted(INDEPENDENT.glob("*.mask.json")):
        recipe = json.loads(recipe_path.read_text(encoding="utf-8"))
        png = cv2.imread(str(recipe_path.with_suffix(".png")), cv2.IMREAD_GRAYSCALE)
        assert np.array_equal(masks.draw(recipe), png), recipe_path.name
        # and the polygons are what the written rule makes of the landmarks and outline
        rebuilt = masks.construct(recipe)
        assert rebuilt["polygons"] == recipe["polygons"], recipe_path.name


def test_options_for_a_photo_come_from_its_own_recipe_when_the_mask_has_none(tmp_path):
    mask = tmp_path / "synth_top.mask.png"
    cv2.imwrite(str(mask), np.zeros((4, 4), np.uint8))
    args = pq.recipe_args(mask, FIXTURES / "synth_top.jpg")
    assert args[:2] == ["--view", "top"]
    (tmp_path / "synth_top.mask.json").write_text('{"simulate_args": ["--mm-per-px", "0.2"]}')
    assert pq.recipe_args(mask, FIXTURES / "synth_top.jpg") == ["--mm-per-px", "0.2"]


def test_masks_folder_that_does_not_exist_is_a_clear_error(tmp_path, capsys):
    assert pq.main(["--masks", str(tmp_path / "nowhere"), "--results", str(tmp_path / "r")]) == 2
    assert "no such folder" in capsys.readouterr().out
    assert not (tmp_path / "r").exists()


def test_scoring_against_another_folder_keeps_the_first_set_results(tmp_path):
    """A whole run with --masks: the photo from the fixtures, the mask from elsewhere, the
    figures under their own key, everything else in the results file kept."""
    second = tmp_path / "preview_second"
    second.mkdir()
    exact = cv2.imread(str(FIXTURES / "synth_top.mask.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(second / "synth_top.mask.png"), exact)
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"preview_quality": {"kept": True}, "render_ms": 1.0}))
    argv = ["--photos", str(FIXTURES), "--masks", str(second), "--results", str(results)]
    assert pq.main(argv) == 0
    stored = json.loads(results.read_text())
    assert stored["preview_quality"] == {"kept": True} and stored["render_ms"] == 1.0
    entry = stored["preview_quality_second"]
    assert entry["masks"] == str(second)
    assert list(entry["photos_scores"]) == ["synth_top"]  # only the masks of that folder
    given = entry["photos_scores"]["synth_top"]["mask"]
    assert given["error"] is None  # --view top came from the photo's own recipe
    assert given["cover"] > 0.9  # the exact mask given: the whole top view is treated
