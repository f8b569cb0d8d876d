import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from pointillist.errors import PointillistError
from pointillist.imaging.sampling import (
    PACKING,
    SESSION_PACKING,
    expected_count,
    minimum_distance_mm,
    sample_impressions,
    sample_sessions,
)

MM_PER_PX = 0.25


def _metric_at(metric, xy):
    if np.ndim(metric) == 0:
        n = len(xy)
        return np.column_stack([np.full(n, metric), np.zeros(n), np.full(n, metric)])
    col = xy[:, 0].astype(int)
    row = xy[:, 1].astype(int)
    return metric[row, col].astype(np.float64)


def _assert_minimum_distance(points, density, metric, first_new=0, packing=PACKING):
    """Every point placed after ``first_new`` keeps its own minimum distance (in mm,
    with the metric at its own pixel) from every point placed before it."""
    r_mm = (packing / PACKING) * minimum_distance_mm(
        density[points[:, 1].astype(int), points[:, 0].astype(int)],
        peak_density_per_mm2=float(density.max()),
    )
    g = _metric_at(metric, points)
    smallest_eig = 0.5 * (g[:, 0] + g[:, 2]) - np.hypot(0.5 * (g[:, 0] - g[:, 2]), g[:, 1])
    # Look a little beyond the minimum distance so that the check is never vacuous.
    reach_px = 1.5 * float((r_mm / np.sqrt(smallest_eig)).max())
    pairs = cKDTree(points).query_pairs(reach_px, output_type="ndarray")
    assert len(pairs) > 0
    later = pairs.max(axis=1)
    earlier = pairs.min(axis=1)
    keep = later >= first_new
    later, earlier = later[keep], earlier[keep]
    d = points[earlier] - points[later]
    gl = g[later]
    dist2 = gl[:, 0] * d[:, 0] ** 2 + 2 * gl[:, 1] * d[:, 0] * d[:, 1] + gl[:, 2] * d[:, 1] ** 2
    assert (np.sqrt(dist2) >= r_mm[later] * (1 - 1e-9)).all()


def test_uniform_density_matches_and_keeps_minimum_distance():
    density = np.full((400, 400), 1.0, np.float32)  # 1 per mm2 over 100 x 100 mm
    points = sample_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, seed=7)
    assert len(points) == pytest.approx(10_000, abs=1)
    _assert_minimum_distance(points, density, MM_PER_PX**2)
    # Nearest neighbours sit just beyond the minimum distance: an even, blue-noise spread.
    nn, _ = cKDTree(points * MM_PER_PX).query(points * MM_PER_PX, 2)
    assert nn[:, 1].min() >= PACKING * (1 - 1e-9)
    assert np.median(nn[:, 1]) < 1.5 * PACKING
    # Stated tolerance: mean density within 5% over a uniform region away from edges.
    x, y = points[:, 0], points[:, 1]
    for x0, y0 in [(40, 40), (200, 40), (40, 200), (200, 200)]:
        inside = (x >= x0) & (x < x0 + 160) & (y >= y0) & (y < y0 + 160)
        local = inside.sum() / (160 * MM_PER_PX) ** 2
        assert local == pytest.approx(1.0, rel=0.05)


def test_density_follows_the_map():
    density = np.zeros((300, 600), np.float32)
    density[:, :300] = 1.6
    density[:, 300:] = 0.4
    points = sample_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, seed=3)
    area_half_mm2 = 300 * 300 * MM_PER_PX**2
    dense = (points[:, 0] < 300).sum() / area_half_mm2
    sparse = (points[:, 0] >= 300).sum() / area_half_mm2
    assert dense == pytest.approx(1.6, rel=0.10)
    assert sparse == pytest.approx(0.4, rel=0.10)
    _assert_minimum_distance(points, density, MM_PER_PX**2)


def test_points_only_where_density_is_positive():
    yy, xx = np.mgrid[0:200, 0:200]
    density = np.where((xx - 100) ** 2 + (yy - 100) ** 2 < 70**2, 2.0, 0.0).astype(np.float32)
    points = sample_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, seed=1)
    assert len(points) > 100
    assert (density[points[:, 1].astype(int), points[:, 0].astype(int)] > 0).all()


def test_anisotropic_metric_crowds_dots_in_the_image():
    # A y step of one pixel is 3x longer on the surface than an x step (a foreshortened
    # slope): the same surface density puts 3x as many dots per image pixel.
    s = MM_PER_PX**2
    density = np.full((300, 300), 1.0, np.float32)
    metric = np.empty((300, 300, 3), np.float32)
    metric[...] = (s, 0.0, 9 * s)
    flat = sample_impressions(density, metric_mm2_per_px2=s, seed=2)
    slanted = sample_impressions(density, metric_mm2_per_px2=metric, seed=2)
    assert len(slanted) == pytest.approx(3 * len(flat), rel=0.01)
    _assert_minimum_distance(slanted, density, metric)
    # On the surface the pattern is isotropic: nearest neighbours lie as often along x
    # as along y, as far away as on a flat photo.
    surface = slanted * [MM_PER_PX, 3 * MM_PER_PX]
    nn, idx = cKDTree(surface).query(surface, 2)
    d = np.abs(surface[idx[:, 1]] - surface)
    assert d[:, 0].mean() == pytest.approx(d[:, 1].mean(), rel=0.1)
    flat_nn, _ = cKDTree(flat * MM_PER_PX).query(flat * MM_PER_PX, 2)
    assert np.median(nn[:, 1]) == pytest.approx(np.median(flat_nn[:, 1]), rel=0.05)


def test_sheared_metric_field_keeps_minimum_distance():
    s = MM_PER_PX**2
    yy, xx = np.mgrid[0:200, 0:240].astype(np.float32)
    metric = np.stack([s * (1 + xx / 80), s * 0.4 * np.sin(yy / 30), s * (1 + yy / 100)], -1)
    density = np.full((200, 240), 1.2, np.float32)
    points = sample_impressions(density, metric_mm2_per_px2=metric, seed=11)
    assert len(points) == pytest.approx(expected_count(density, metric_mm2_per_px2=metric), abs=1)
    _assert_minimum_distance(points, density, metric)


def test_existing_points_are_kept_and_respected():
    density = np.full((200, 200), 1.0, np.float32)
    first = sample_impressions(density * 0.3, metric_mm2_per_px2=MM_PER_PX**2, seed=5)
    both = sample_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, existing=first, seed=6)
    np.testing.assert_array_equal(both[: len(first)], first)
    assert len(both) == pytest.approx(2500, abs=1)
    _assert_minimum_distance(both, density, MM_PER_PX**2, first_new=len(first))


def test_existing_points_outside_the_map_do_not_count():
    density = np.zeros((100, 100), np.float32)
    density[:, 50:] = 1.0
    outside = np.array([[10.0, 10.0], [-5.0, 20.0], [20.0, 500.0]])
    points = sample_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, existing=outside, seed=1)
    np.testing.assert_array_equal(points[:3], outside)
    assert len(points) - 3 == round(expected_count(density, metric_mm2_per_px2=MM_PER_PX**2))


def test_same_seed_same_points_other_seed_other_points():
    density = np.full((120, 160), 0.8, np.float32)
    a = sample_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, seed=42)
    b = sample_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, seed=42)
    c = sample_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, seed=43)
    np.testing.assert_array_equal(a, b)
    assert len(a) == len(c)
    assert not np.array_equal(a, c)


def test_empty_map_returns_the_existing_points():
    density = np.zeros((50, 50), np.float32)
    existing = np.array([[1.5, 2.5]])
    out = sample_impressions(density, metric_mm2_per_px2=0.01, existing=existing, seed=0)
    np.testing.assert_array_equal(out, existing)
    assert len(sample_impressions(density, metric_mm2_per_px2=0.01, seed=0)) == 0


@pytest.mark.parametrize(
    ("density", "metric", "existing"),
    [
        (np.full((10, 10), -1.0), 0.01, None),
        (np.full((10, 10), np.nan), 0.01, None),
        (np.ones(10), 0.01, None),
        (np.ones((10, 10)), 0.0, None),
        (np.ones((10, 10)), np.ones((5, 5, 3)), None),
        (np.ones((10, 10)), np.ones((10, 10, 3)), None),  # det = 0: not positive definite
        (np.ones((10, 10)), np.full((10, 10, 3), np.nan), None),
        (np.ones((10, 10)), 0.01, np.ones((3, 3))),
        (np.full((100, 100), 100.0), 100.0, None),  # 100 per mm2 over 1 m2
    ],
)
def test_bad_inputs_raise_a_clear_error(density, metric, existing):
    with pytest.raises(PointillistError):
        sample_impressions(density, metric_mm2_per_px2=metric, existing=existing, seed=0)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    peak=st.floats(0.3, 3.0),
    mm_per_px=st.floats(0.1, 0.4),
    stretch=st.floats(1.0, 3.0),
    shear=st.floats(-0.9, 0.9),
)
def test_minimum_distance_holds_for_any_metric_and_map(seed, peak, mm_per_px, stretch, shear):
    s = mm_per_px**2
    yy, xx = np.mgrid[0:80, 0:90]
    density = (peak * np.clip(xx / 60.0, 0, 1) * (yy > 5)).astype(np.float32)
    g22 = s * stretch**2
    metric = np.empty((80, 90, 3), np.float32)
    metric[...] = (s, shear * np.sqrt(s * g22), g22)
    points = sample_impressions(density, metric_mm2_per_px2=metric, seed=seed)
    if len(points) < 2:
        return
    assert (density[points[:, 1].astype(int), points[:, 0].astype(int)] > 0).all()
    _assert_minimum_distance(points, density, metric)


def test_sessions_are_each_an_even_pattern_at_their_own_density():
    s = MM_PER_PX**2
    density = np.full((240, 240), 1.0, np.float32)
    metric = np.empty((240, 240, 3), np.float32)
    metric[...] = (s, 0.2 * s, 1.5 * s)
    fractions = [0.3, 0.55, 0.8, 1.0]
    points, session = sample_sessions(
        density, metric_mm2_per_px2=metric, cumulative_fractions=fractions, seed=4
    )
    total = expected_count(density, metric_mm2_per_px2=metric)
    assert (np.diff(session) >= 0).all() and session[0] == 1 and session[-1] == 4
    for k, fraction in enumerate(fractions, start=1):
        layer = points[session <= k]
        assert len(layer) == round(fraction * total)
        packing = PACKING if k == len(fractions) else SESSION_PACKING
        _assert_minimum_distance(layer, density * fraction, metric, packing=packing)
    again, _ = sample_sessions(
        density, metric_mm2_per_px2=metric, cumulative_fractions=fractions, seed=4
    )
    np.testing.assert_array_equal(points, again)
