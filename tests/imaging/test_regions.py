"""Regions: head versus background, skin versus hair, on known synthetic heads and astronaut."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from pointillist.errors import PointillistError
from pointillist.imaging.head import fit_frontal
from pointillist.imaging.io import load_mask
from pointillist.imaging.regions import segment_regions


def _on_grid(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    small = cv2.resize(mask.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return small >= 0.5


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_top_view_head_skin_and_hair(top_head):
    regions = segment_regions(top_head.rgb)
    head = top_head.head
    yy, xx = np.mgrid[0 : top_head.rgb.shape[0], 0 : top_head.rgb.shape[1]]
    (cx, cy), (a, b) = head.outline.center, head.outline.semi_axes
    true_head = ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2 <= 1.0
    assert _iou(regions.foreground, _on_grid(true_head, regions.shape)) > 0.95
    assert _iou(regions.skin, _on_grid(top_head.bald_mask, regions.shape)) > 0.9
    assert regions.skin_seed == "head cluster"
    # The skin model is the drawn skin: light, warm.
    assert regions.skin_lab[0] > 55 and regions.skin_lab[1] > 5 and regions.skin_lab[2] > 10


def test_hair_coverage_is_high_in_the_horseshoe(top_head):
    regions = segment_regions(top_head.rgb)
    coverage = regions.hair_coverage(6.0 / top_head.mm_per_px)
    hair = _on_grid(~top_head.bald_mask, regions.shape)
    bald = _on_grid(top_head.bald_mask, regions.shape)
    inner_bald = cv2.erode(bald.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert np.median(coverage[inner_bald]) < 0.05
    assert np.median(coverage[hair & regions.foreground & ~bald]) > 0.7


def test_astronaut_hair_forehead_and_background(astronaut, astronaut_keypoints):
    head = fit_frontal(astronaut_keypoints, 1.35)
    regions = segment_regions(astronaut, keypoints=astronaut_keypoints, outline=head.outline)
    cell = regions.cell_px

    def at(x: float, y: float) -> int:
        return int(regions.labels()[round((y + 0.5) / cell - 0.5), round((x + 0.5) / cell - 0.5)])

    assert regions.skin_seed == "forehead"
    assert at(225, 82) == 1  # forehead skin
    assert at(225, 40) == 2  # hair on top of her head
    assert at(170, 60) == 2  # hair at the side
    assert at(20, 20) == 0 and at(480, 60) == 0  # flag and backdrop
    # Her skin is light (ITA-wise very light to light).
    assert regions.skin_lab[0] > 65


def test_mask_png(tmp_path):
    mask = np.zeros((50, 80), np.uint8)
    mask[10:30, 20:60] = 255
    path = tmp_path / "mask.png"
    Image.fromarray(mask).save(path)
    loaded = load_mask(str(path), image_size=(80, 50))
    assert loaded.dtype == bool and loaded.sum() == 20 * 40
    # Same aspect ratio, other size: resized.
    assert load_mask(str(path), image_size=(160, 100)).shape == (100, 160)


def test_bad_masks(tmp_path):
    path = tmp_path / "black.png"
    Image.fromarray(np.zeros((50, 80), np.uint8)).save(path)
    with pytest.raises(PointillistError, match="all black"):
        load_mask(str(path), image_size=(80, 50))
    with pytest.raises(PointillistError, match="photo is 50x50"):
        Image.fromarray(np.full((50, 80), 255, np.uint8)).save(path)
        load_mask(str(path), image_size=(50, 50))


def test_stubble_is_thin_hair_and_treatable(top_head):
    rng = np.random.default_rng(0)
    rgb = top_head.rgb.copy()
    # Shaved regrowth on a 40 x 40 mm patch of the bald top: dark specks on skin.
    y0, x0, size = 160, 150, round(40 / top_head.mm_per_px)
    patch = rgb[y0 : y0 + size, x0 : x0 + size].astype(np.float32)
    specks = rng.random(patch.shape[:2]) < 0.3
    patch[specks] *= 0.45
    rgb[y0 : y0 + size, x0 : x0 + size] = patch.astype(np.uint8)
    assert top_head.bald_mask[y0 : y0 + size, x0 : x0 + size].all()
    regions = segment_regions(rgb)
    cell = regions.cell_px
    r0, r1 = round((y0 + 10) / cell), round((y0 + size - 10) / cell)
    c0, c1 = round((x0 + 10) / cell), round((x0 + size - 10) / cell)
    # Stubble is existing hair, but thin: SMP adds density there, so it stays treatable.
    assert regions.thin_hair[r0:r1, c0:c1].mean() > 0.8
    assert regions.treatable_scalp(top_head.mm_per_px)[r0:r1, c0:c1].mean() > 0.95
    # The untouched bald skin beside it is still bare skin.
    assert regions.skin[r0:r1, c1 + 12 : c1 + 20].mean() > 0.9
