import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointillist.color.look import DotLook, footprint_area
from pointillist.errors import PointillistError
from pointillist.imaging.impressions import Impressions, plan_impressions
from pointillist.imaging.render import (
    BLOCK_COLS,
    STRIP_ROWS,
    TONE_LEVELS,
    _sqrt_linear_to_srgb,
    _srgb_to_linear,
    _tone_table,
    edge_coverage,
    render_impressions,
    render_sessions,
)

RATIO = (0.3, 0.32, 0.36)
MM_PER_PX = 0.05


def _look(ratio=RATIO, halo_mm=0.05, coverage=1.0):
    return DotLook(ratio_rgb=ratio, coverage=coverage, halo_mm=halo_mm, diameter_mm=0.5)


LOOK = _look()


def _dots(xy, *, diameter_mm=0.5, shade=1.0, opacity=1.0, axes=None, angle=0.0):
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    n = len(xy)
    d = np.broadcast_to(np.asarray(diameter_mm, np.float32), (n,)).copy()
    if axes is None:
        r_px = d / 2 / MM_PER_PX
        axes = np.stack([r_px, r_px], axis=1)
    return Impressions(
        xy=xy,
        session=np.ones(n, np.int16),
        diameter_mm=d,
        semi_axes_px=np.broadcast_to(np.asarray(axes, np.float32), (n, 2)).copy(),
        angle_rad=np.broadcast_to(np.asarray(angle, np.float32), (n,)).copy(),
        shade=np.full(n, shade, np.float32),
        opacity=np.full(n, opacity, np.float32),
        n_sessions=1,
    )


def _textured_skin(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([200 - 30 * yy / h, 160 - 30 * xx / w, 140 + 0 * xx], axis=-1)
    return np.clip(base + rng.normal(0, 12, (h, w, 1)), 0, 255).astype(np.uint8)


def _to_linear(img):
    v = img.astype(np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _reference(img, imp, ratio, blur_mm, aa_px, coverage=1.0):
    """Straightforward per-pixel evaluation of the documented formula."""
    lin = _to_linear(img)
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    bare = np.ones((h, w))
    ratio = np.asarray(ratio)
    rbar = math.exp(np.log(ratio).mean())
    for i in range(len(imp)):
        a, b = (float(v) for v in imp.semi_axes_px[i])
        t = float(imp.angle_rad[i])
        dx, dy = xx - imp.xy[i, 0], yy - imp.xy[i, 1]
        u = math.cos(t) * dx + math.sin(t) * dy
        v = -math.sin(t) * dx + math.cos(t) * dy
        q = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        r_mm = float(imp.diameter_mm[i]) / 2
        sigma_q = math.sqrt((blur_mm / r_mm) ** 2 + aa_px**2 / (a * b))
        cov = edge_coverage((q - 1) / sigma_q)
        keep_ink = footprint_area(blur_mm / r_mm) / footprint_area(sigma_q)
        strength = float(imp.opacity[i]) * (1 - rbar ** float(imp.shade[i])) / (1 - rbar)
        bare -= cov * strength * keep_ink * coverage
    bare = np.maximum(bare, 0)
    out = lin * (1 - (1 - bare)[..., None] * (1 - ratio))
    s = np.where(out <= 0.0031308, 12.92 * out, 1.055 * out ** (1 / 2.4) - 0.055)
    return np.clip(np.rint(s * 255), 0, 255).astype(np.uint8)


def test_matches_the_formula_across_tiles_and_borders():
    img = _textured_skin(150, 170)
    rng = np.random.default_rng(4)
    # Dots across tile seams, on the image border and partly off the image.
    xy = np.array(
        [
            [BLOCK_COLS, STRIP_ROWS],
            [BLOCK_COLS - 0.3, 3 * STRIP_ROWS + 0.2],
            [0.4, 70.0],
            [169.0, 149.5],
            [-2.0, 40.0],
        ]
    )
    xy = np.vstack([xy, rng.uniform(0, [170, 150], (40, 2))])
    n = len(xy)
    imp = Impressions(
        xy=xy,
        session=np.ones(n, np.int16),
        diameter_mm=rng.uniform(0.3, 0.8, n).astype(np.float32),
        semi_axes_px=np.column_stack([rng.uniform(4, 9, n), rng.uniform(2, 4, n)]).astype(
            np.float32
        ),
        angle_rad=rng.uniform(-1.5, 1.5, n).astype(np.float32),
        shade=rng.uniform(0.8, 1.2, n).astype(np.float32),
        opacity=rng.uniform(0.6, 1.0, n).astype(np.float32),
        n_sessions=1,
    )
    out = render_impressions(img, imp, look=_look(coverage=0.8), antialias_sigma_px=0.4)
    expected = _reference(img, imp, RATIO, 0.05, 0.4, coverage=0.8)
    diff = np.abs(out.astype(int) - expected.astype(int))
    assert diff.max() <= 1
    assert (out != img).sum() > 1000


def test_shape_dtype_and_input_untouched():
    img = _textured_skin(90, 120)
    before = img.copy()
    out = render_impressions(img, _dots([[60, 45]]), look=LOOK)
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(img, before)
    assert not np.shares_memory(out, img)


def test_no_dots_gives_an_identical_copy():
    img = _textured_skin(40, 50)
    out = render_impressions(img, _dots(np.empty((0, 2))), look=LOOK)
    np.testing.assert_array_equal(out, img)


def test_darkens_only_near_dots():
    img = _textured_skin(200, 200)
    centres = np.array([[50.0, 60.0], [140.5, 150.2]])
    out = render_impressions(img, _dots(centres), look=LOOK)
    yy, xx = np.mgrid[0:200, 0:200] + 0.5
    dist = np.min([np.hypot(xx - cx, yy - cy) for cx, cy in centres], axis=0)
    changed = (out != img).any(axis=2)
    radius_px = 0.25 / MM_PER_PX
    assert changed[dist < radius_px].all()
    assert not changed[dist > 2 * radius_px].any()
    assert (out.astype(int) <= img.astype(int)).all()  # pigment only takes light away


def test_keeps_lighting_and_texture_under_a_dot():
    img = _textured_skin(120, 120, seed=3)
    # One large dot (6 mm) so that its flat core covers a textured patch.
    out = render_impressions(img, _dots([[60, 60]], diameter_mm=6.0), look=LOOK)
    core = (slice(40, 80), slice(40, 80))
    lin_in, lin_out = _to_linear(img[core]), _to_linear(out[core])
    ratio = lin_out.reshape(-1, 3).sum(0) / lin_in.reshape(-1, 3).sum(0)
    np.testing.assert_allclose(ratio, RATIO, rtol=0.03)
    for c in range(3):
        r = np.corrcoef(lin_in[..., c].ravel(), lin_out[..., c].ravel())[0, 1]
        assert r > 0.97
    assert out[core].mean() < img[core].mean() - 40


def test_anti_aliased_edge_has_partial_coverage():
    img = np.full((60, 60, 3), 200, np.uint8)
    out = render_impressions(
        img,
        _dots([[30.3, 29.8]], diameter_mm=1.0),
        look=_look(halo_mm=0.0),
        antialias_sigma_px=0.4,
    )
    g = out[..., 1].astype(int)
    core = int(g[29, 30])
    partial = (g > core + 5) & (g < 195)
    assert partial.sum() >= 20  # a ring of intermediate values, not a hard step
    # and the ring is thin: blur 0 leaves the edge within about a pixel of the circle
    yy, xx = np.mgrid[0:60, 0:60] + 0.5
    dist = np.hypot(xx - 30.3, yy - 29.8)
    assert (np.abs(dist[partial] - 10.0) < 1.5).all()


def test_halo_softens_the_edge():
    img = np.full((60, 60, 3), 200, np.uint8)
    dot = _dots([[30, 30]], diameter_mm=1.0)
    sharp = render_impressions(img, dot, look=_look(halo_mm=0.0), antialias_sigma_px=0.4)
    soft = render_impressions(img, dot, look=_look(halo_mm=0.1), antialias_sigma_px=0.4)
    touched_sharp = (sharp != 200).any(axis=2).sum()
    touched_soft = (soft != 200).any(axis=2).sum()
    assert touched_soft > 1.3 * touched_sharp
    assert soft[30, 30, 1] == sharp[30, 30, 1]  # the core keeps its shade


def test_overlapping_dots_and_shade_and_opacity():
    img = np.full((40, 40, 3), 180, np.uint8)
    one = render_impressions(img, _dots([[20, 20]], opacity=0.6), look=LOOK)
    two = render_impressions(img, _dots([[20, 20], [20, 20]], opacity=0.6), look=LOOK)
    dark = render_impressions(img, _dots([[20, 20]], opacity=0.6, shade=1.3), look=LOOK)
    faint = render_impressions(img, _dots([[20, 20]], opacity=0.3), look=LOOK)
    full = render_impressions(img, _dots([[20, 20]]), look=LOOK)
    c = (20, 20, 1)
    assert full[c] == two[c] < one[c]  # overlap darkens, never past the pigment's ratio
    assert dark[c] < one[c] < faint[c] < 180
    lin = _to_linear(np.array([180, one[c], full[c]], np.uint8))
    assert lin[1] / lin[0] == pytest.approx(1 - 0.6 * (1 - RATIO[1]), rel=0.02)
    assert lin[2] / lin[0] == pytest.approx(RATIO[1], rel=0.02)


def test_same_input_same_output():
    img = _textured_skin(300, 300)
    rng = np.random.default_rng(0)
    imp = _dots(rng.uniform(0, 300, (500, 2)))
    a = render_impressions(img, imp, look=LOOK)
    b = render_impressions(img, imp, look=LOOK)
    np.testing.assert_array_equal(a, b)


def test_tone_table_keeps_bare_skin_exact_and_reaches_the_ratio():
    levels = np.arange(256)
    index = np.rint(np.sqrt(_srgb_to_linear()[levels]) * 4095).astype(int)
    np.testing.assert_array_equal(_sqrt_linear_to_srgb()[index], levels)
    table = _tone_table(RATIO)
    assert table.shape == (3, TONE_LEVELS, 256)
    for c in range(3):
        np.testing.assert_array_equal(table[c, -1], levels)  # no pigment: unchanged
        lin = _to_linear(table[c, 0, 100:].astype(np.uint8)) / _to_linear(levels[100:])
        np.testing.assert_allclose(lin, RATIO[c], rtol=0.03)
        assert (np.diff(table[c, :, 200].astype(int)) >= 0).all()


def test_edge_profile_is_close_to_a_gaussian_blurred_step():
    t = np.linspace(-4, 4, 801)
    gaussian = np.array([0.5 * math.erfc(v / math.sqrt(2)) for v in t])
    assert np.abs(edge_coverage(t) - gaussian).max() < 0.021
    assert edge_coverage(np.array([-2.2]))[0] == 1.0 and edge_coverage(np.array([2.2]))[0] == 0.0


@pytest.mark.parametrize(
    ("image", "kwargs"),
    [
        (np.zeros((10, 10, 3), np.float32), {}),
        (np.zeros((10, 10), np.uint8), {}),
        (np.zeros((10, 10, 4), np.uint8), {}),
        (np.zeros((10, 10, 3), np.uint8), {"look": _look(ratio=(0.0, 0.5, 0.5))}),
        (np.zeros((10, 10, 3), np.uint8), {"look": _look(ratio=(0.5, 0.5))}),
        (np.zeros((10, 10, 3), np.uint8), {"look": _look(halo_mm=-1.0)}),
        (np.zeros((10, 10, 3), np.uint8), {"look": _look(coverage=0.0)}),
        (np.zeros((10, 10, 3), np.uint8), {"antialias_sigma_px": 0.0}),
    ],
)
def test_bad_inputs_raise_a_clear_error(image, kwargs):
    with pytest.raises(PointillistError):
        render_impressions(image, _dots([[5, 5]]), **kwargs)


def test_result_does_not_depend_on_the_build_or_thread_count():
    import numba

    from pointillist.imaging import kernels

    img = _textured_skin(400, 300)
    rng = np.random.default_rng(1)
    imp = _dots(rng.uniform(0, [300, 400], (800, 2)), opacity=0.7)
    with kernels.forced("aot"):
        ahead_of_time = render_impressions(img, imp, look=LOOK)
    with kernels.forced("jit"):
        threads = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            one = render_impressions(img, imp, look=LOOK)
        finally:
            numba.set_num_threads(threads)
        all_threads = render_impressions(img, imp, look=LOOK)
    assert (ahead_of_time != img).any()
    np.testing.assert_array_equal(all_threads, one)
    np.testing.assert_array_equal(ahead_of_time, one)


@pytest.mark.parametrize(
    "broken",
    [
        {"xy": np.array([[np.nan, 3.0]])},
        {"semi_axes_px": np.array([[0.0, 1.0]], np.float32)},
        {"opacity": np.array([1.5], np.float32)},
        {"shade": np.array([1.0, 1.0], np.float32)},
    ],
)
def test_broken_impressions_raise_a_clear_error(broken):
    from dataclasses import replace

    with pytest.raises(PointillistError):
        render_impressions(np.zeros((10, 10, 3), np.uint8), replace(_dots([[5, 5]]), **broken))


@settings(max_examples=40, deadline=None)
@given(
    x=st.floats(-3, 43),
    y=st.floats(-3, 43),
    a=st.floats(0.3, 9.0),
    aspect=st.floats(1.0, 4.0),
    angle=st.floats(-3.2, 3.2),
    diameter=st.floats(0.2, 1.0),
    blur=st.floats(0.0, 0.1),
)
def test_any_single_dot_matches_the_formula(x, y, a, aspect, angle, diameter, blur):
    img = _textured_skin(40, 40, seed=2)
    imp = _dots([[x, y]], diameter_mm=diameter, axes=[a, a / aspect], angle=angle, opacity=0.9)
    out = render_impressions(img, imp, look=_look(halo_mm=blur))
    expected = _reference(img, imp, RATIO, blur, 0.4)
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


@settings(max_examples=30, deadline=None)
@given(
    # Coarser than 1 mm per pixel (a whole head under 150 px) a dot moves its pixels by
    # a few 8-bit levels in all, and the output's rounding, not the renderer, sets the
    # error.
    mm_per_px=st.floats(0.02, 1.0),
    diameter=st.floats(0.45, 1.0),
    halo=st.floats(0.0, 0.15),
    seed=st.integers(0, 2**16),
)
def test_a_dot_keeps_its_ink_at_any_pixel_size(mm_per_px, diameter, halo, seed):
    """Area times darkness of a dot, on the scalp, whatever the pixel size.

    Sixty-four dots, apart, at places spread evenly over their pixels (one in each
    eighth of a pixel, jittered): a dot smaller than a pixel spreads its ink over the
    pixels around it instead of widening at full darkness (which would add ink) or
    vanishing (which would lose it). One sub-pixel dot alone lands a little darker or
    lighter depending on where it falls in its pixel; averaged over where it falls, its
    ink is exact.
    """
    look = _look(ratio=(0.1, 0.11, 0.13), halo_mm=halo)
    r_px = diameter / 2 / mm_per_px
    step = int(2 * (diameter / 2 + 2.2 * halo) / mm_per_px + 6)
    rng = np.random.default_rng(seed)
    cells = (np.arange(8) + 0.5) * step
    centres = np.stack(np.meshgrid(cells, cells), axis=-1).reshape(-1, 2)
    phases = (np.stack(np.meshgrid(np.arange(8), np.arange(8)), axis=-1).reshape(-1, 2) + 0.5) / 8
    centres = centres + phases - 0.5 + rng.uniform(-1 / 16, 1 / 16, (64, 2))
    img = np.full((8 * step, 8 * step, 3), 200, np.uint8)
    out = render_impressions(
        img, _dots(centres, diameter_mm=diameter, axes=[r_px, r_px], opacity=0.9), look=look
    )
    darkened = 1 - _to_linear(out)[..., 1] / _to_linear(img)[..., 1]
    ink_mm2 = darkened.sum() * mm_per_px**2 / (1 - look.ratio_rgb[1]) / 64
    r = diameter / 2
    assert ink_mm2 == pytest.approx(math.pi * r * r * footprint_area(halo / r) * 0.9, rel=0.05)


def test_footprint_area_matches_the_edge_profile():
    q = np.linspace(0, 12, 200_001)
    for sigma in (0.0, 0.05, 0.2, 0.47, 1.0, 3.0):
        cov = (q <= 1).astype(float) if sigma == 0 else edge_coverage((q - 1) / sigma)
        numeric = np.trapezoid(2 * q * cov, q)
        assert footprint_area(sigma) == pytest.approx(numeric, rel=1e-3)


def test_sessions_in_one_pass_match_each_session_drawn_alone():
    img = _textured_skin(150, 170, seed=3)
    density = np.zeros((150, 170), np.float32)
    density[20:130, 15:160] = 1.2
    course = plan_impressions(
        density, metric_mm2_per_px2=0.2**2, seed=4, cumulative_fractions=[0.3, 0.3, 0.7, 1.0]
    )
    assert course.cumulative_counts()[0] == course.cumulative_counts()[1] > 0
    look = _look(coverage=0.7, halo_mm=0.08)
    sessions = render_sessions(img, course, look=look)
    assert len(sessions) == 4
    for k, image in enumerate(sessions, start=1):
        alone = render_impressions(img, course.up_to_session(k), look=look)
        np.testing.assert_array_equal(image, alone)
    assert not np.array_equal(sessions[2], sessions[3])
