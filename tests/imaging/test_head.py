"""The ellipsoid head: metric, areas on the surface, walks, fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pointillist.imaging.head import (
    Ellipse,
    HeadModel,
    fit_frontal,
    fit_silhouette,
    fit_silhouette_ellipse,
)


def _sphere(radius_px: float = 200.0, mm_per_px: float = 0.5, max_stretch: float = 60.0):
    c = 250.0
    return HeadModel(
        outline=Ellipse(center=(c, c), semi_axes=(radius_px, radius_px), angle_deg=0.0),
        depth_px=radius_px,
        mm_per_px=mm_per_px,
        view="silhouette",
        source="test",
        max_stretch=max_stretch,
    )


def test_metric_is_flat_facing_the_camera_and_stretches_at_the_rim():
    head = _sphere()
    g = head.metric_at(np.array([250.0]), np.array([250.0]))[0]
    assert g == pytest.approx([0.25, 0.0, 0.25], abs=1e-6)
    # At 60 % of the radius along x, a sphere stretches x steps by 1/cos = 1/0.8.
    g = head.metric_at(np.array([250.0 + 120.0]), np.array([250.0]))[0]
    assert math.sqrt(g[0] / 0.25) == pytest.approx(1.25, rel=1e-4)
    assert g[2] == pytest.approx(0.25, rel=1e-5)


def test_metric_field_is_positive_definite_and_capped():
    head = _sphere(max_stretch=4.0)
    field = head.metric_field(500, 500, step=4)
    assert field.shape == (500, 500, 3) and field.dtype == np.float32
    det = field[..., 0] * field[..., 2] - field[..., 1] ** 2
    assert (det > 0).all()
    area_stretch = np.sqrt(det) / 0.25
    assert area_stretch.max() <= 4.0 * 1.01


def test_visible_hemisphere_area():
    radius_px, mm = 200.0, 0.5
    head = _sphere(radius_px, mm, max_stretch=60.0)
    yy, xx = np.mgrid[0:500, 0:500]
    inside = ((xx - 250.0) ** 2 + (yy - 250.0) ** 2 <= radius_px**2).astype(np.float32)
    area = head.surface_area_mm2(inside)
    # Half a sphere of 100 mm radius: 2 pi r^2; the rim's last pixels are capped.
    assert area == pytest.approx(2 * math.pi * 100.0**2, rel=0.03)


def test_silhouette_ellipse_fit(top_head):
    import cv2

    truth = top_head.head.outline
    mask = np.zeros(top_head.rgb.shape[:2], np.uint8)
    cv2.ellipse(
        mask,
        (round(truth.center[0]), round(truth.center[1])),
        (round(truth.semi_axes[0]), round(truth.semi_axes[1])),
        0,
        0,
        360,
        1,
        -1,
    )
    fitted = fit_silhouette_ellipse(mask.astype(bool))
    assert fitted.center == pytest.approx(truth.center, abs=1.5)
    assert sorted(fitted.semi_axes) == pytest.approx(sorted(truth.semi_axes), abs=1.5)
    head = fit_silhouette(fitted, top_head.mm_per_px)
    assert head.depth_px == pytest.approx(top_head.head.depth_px, rel=0.02)


def test_frontal_fit_recovers_the_synthetic_head(front_head):
    head = fit_frontal(front_head.keypoints, front_head.mm_per_px)
    truth = front_head.head
    assert head.outline.center == pytest.approx(truth.outline.center, abs=1.0)
    assert head.outline.semi_axes == pytest.approx(truth.outline.semi_axes, rel=0.02)
    assert head.view == "frontal"


def test_astronaut_head_is_upright(astronaut_keypoints):
    head = fit_frontal(astronaut_keypoints, 1.35)
    assert abs(head.outline.angle_deg) < 10
    # The vertex (120 mm above the eyes at 1.35 mm/px) is inside the photo, above her face.
    assert head.outline.center[1] - head.outline.semi_axes[1] > 0
