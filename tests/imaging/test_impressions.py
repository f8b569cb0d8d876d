import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointillist.data import load_table
from pointillist.errors import PointillistError
from pointillist.imaging.impressions import (
    cumulative_fractions_for,
    dot_ellipses,
    plan_impressions,
)
from pointillist.imaging.sampling import expected_count

MM_PER_PX = 0.1


@pytest.fixture(scope="module")
def density():
    # 40 x 30 mm of scalp at full density, feathered over 5 mm on the left.
    d = np.zeros((300, 450), np.float32)
    d[:, 50:] = 1.0
    d[:, 50:100] = np.linspace(0.0, 1.0, 50)[None, :]
    return d


@pytest.fixture(scope="module")
def course(density):
    return plan_impressions(density, metric_mm2_per_px2=MM_PER_PX**2, seed=9, sessions=4)


def test_each_session_keeps_every_dot_of_the_last(course):
    assert course.n_sessions == 4
    previous = None
    for k in range(1, 5):
        now = course.up_to_session(k)
        assert (now.session <= k).all()
        if previous is not None:
            assert len(now) > len(previous)
            np.testing.assert_array_equal(now.xy[: len(previous)], previous.xy)
            np.testing.assert_array_equal(now.diameter_mm[: len(previous)], previous.diameter_mm)
        previous = now
    assert len(course.up_to_session(4)) == len(course)


def test_cumulative_counts_follow_the_plan_curve(course, density):
    fractions = load_table("plan")["density"]["cumulative_fraction"]["4"]
    total = expected_count(density, metric_mm2_per_px2=MM_PER_PX**2)
    counts = course.cumulative_counts()
    assert counts == [len(course.up_to_session(k)) for k in range(1, 5)]
    for count, fraction in zip(counts, fractions, strict=True):
        assert count == pytest.approx(fraction * total, abs=2)


def test_dots_only_inside_the_treatment_area(course, density):
    xy = course.xy
    assert (density[xy[:, 1].astype(int), xy[:, 0].astype(int)] > 0).all()


def test_per_dot_jitter_stays_within_the_data_files(course):
    spec = load_table("plan")["impression"]
    look = load_table("rendering")["dot"]
    d = course.diameter_mm
    assert d.min() >= spec["min_diameter_mm"] and d.max() <= spec["max_diameter_mm"]
    assert d.mean() == pytest.approx(spec["diameter_mm"], abs=0.01)
    assert d.std() == pytest.approx(spec["diameter_jitter_mm"], rel=0.2)
    assert course.opacity.min() >= look["min_opacity"]
    assert course.opacity.max() <= look["max_opacity"]
    assert course.shade.min() >= look["min_shade"] and course.shade.max() <= look["max_shade"]
    assert course.shade.std() > 0.05  # varied, not stamped
    # Flat photo: the outline is the surface dot in pixels, slightly elongated at most.
    a, b = course.semi_axes_px[:, 0], course.semi_axes_px[:, 1]
    assert (a >= b).all()
    assert (a / b).max() <= look["max_elongation"] ** 2 * (1 + 1e-4)
    np.testing.assert_allclose(a * b, (d / 2 / MM_PER_PX) ** 2, rtol=1e-4)


def test_same_seed_same_course_other_seed_other(density):
    kw = {"metric_mm2_per_px2": MM_PER_PX**2, "sessions": 3}
    a = plan_impressions(density, seed=1, **kw)
    b = plan_impressions(density, seed=1, **kw)
    c = plan_impressions(density, seed=2, **kw)
    for field in ("xy", "session", "diameter_mm", "semi_axes_px", "angle_rad", "shade", "opacity"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.xy[:100], c.xy[:100])


def test_explicit_fractions(density):
    course = plan_impressions(
        density, metric_mm2_per_px2=MM_PER_PX**2, seed=0, cumulative_fractions=[0.5, 0.5, 1.0]
    )
    counts = course.cumulative_counts()
    assert counts[0] == counts[1] < counts[2]
    assert len(course.up_to_session(2)) == counts[0]


def test_ellipse_of_a_circle_on_a_foreshortened_surface():
    s = MM_PER_PX**2
    # One y pixel spans 2x the surface length of an x pixel: the circle is squashed in y.
    metric = np.array([[[s, 0.0, 4 * s]]], np.float32)
    axes, angle = dot_ellipses(np.array([[0.0, 0.0]]), np.array([0.5]), metric)
    assert axes[0, 0] == pytest.approx(0.25 / MM_PER_PX, rel=1e-5)
    assert axes[0, 1] == pytest.approx(0.125 / MM_PER_PX, rel=1e-5)
    assert angle[0] == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    g11=st.floats(0.01, 1.0),
    g22=st.floats(0.01, 1.0),
    corr=st.floats(-0.95, 0.95),
    diameter=st.floats(0.2, 1.0),
    theta=st.floats(0, 2 * math.pi),
)
def test_ellipse_boundary_is_the_surface_circle(g11, g22, corr, diameter, theta):
    g12 = corr * math.sqrt(g11 * g22)
    metric = np.array([[[g11, g12, g22]]], np.float32)
    axes, angle = dot_ellipses(np.zeros((1, 2)), np.array([diameter]), metric)
    a, b = float(axes[0, 0]), float(axes[0, 1])
    c, s = math.cos(float(angle[0])), math.sin(float(angle[0]))
    u, v = a * math.cos(theta), b * math.sin(theta)
    x, y = c * u - s * v, s * u + c * v
    g11, g12, g22 = (float(g) for g in metric[0, 0])
    surface_length = math.sqrt(g11 * x * x + 2 * g12 * x * y + g22 * y * y)
    assert surface_length == pytest.approx(diameter / 2, rel=1e-4)


def test_elongation_keeps_the_surface_area():
    s = MM_PER_PX**2
    metric = np.array([[[s, 0.3 * s, 2 * s]]], np.float32)
    xy = np.zeros((3, 2))
    d = np.full(3, 0.5)
    round_axes, _ = dot_ellipses(xy, d, metric)
    long_axes, _ = dot_ellipses(
        xy, d, metric, elongation=np.array([1.0, 1.2, 1.4]), elongation_angle_rad=np.ones(3)
    )
    np.testing.assert_allclose(np.prod(long_axes, axis=1), np.prod(round_axes, axis=1), rtol=1e-5)
    flat = np.array([[[s, 0.0, s]]], np.float32)
    flat_axes, _ = dot_ellipses(
        xy, d, flat, elongation=np.array([1.0, 1.2, 1.4]), elongation_angle_rad=np.ones(3)
    )
    np.testing.assert_allclose(flat_axes[:, 0] / flat_axes[:, 1], [1.0, 1.44, 1.96], rtol=1e-5)


def test_fractions_come_from_the_plan():
    assert cumulative_fractions_for(3) == [0.30, 0.70, 1.00]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sessions": 9},
        {"cumulative_fractions": []},
        {"cumulative_fractions": [0.6, 0.4]},
        {"cumulative_fractions": [0.5, 1.2]},
        {"cumulative_fractions": [0.5, 1.0], "sessions": 3},
    ],
)
def test_bad_course_raises_a_clear_error(kwargs):
    with pytest.raises(PointillistError):
        plan_impressions(np.ones((20, 20), np.float32), metric_mm2_per_px2=0.01, seed=0, **kwargs)


def test_session_out_of_range(course):
    for k in (0, 5):
        with pytest.raises(PointillistError):
            course.up_to_session(k)


def test_each_session_spreads_over_the_whole_area(course):
    # Session 1 is 30% of the final count everywhere: on the feathered edge as in the
    # middle, not bunched where the pattern happened to start.
    x = course.xy[:, 0]
    first = course.session == 1
    for lo, hi in [(50, 100), (100, 275), (275, 450)]:
        band = (x >= lo) & (x < hi)
        assert first[band].mean() == pytest.approx(0.30, abs=0.05)
