"""The figures the preview is judged by (bench/preview_quality.py) measure what they say."""

import importlib.util
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
