"""The treated area as a whole: its shadow meets the target at any photo resolution."""

import numpy as np
import pytest

from pointillist.color import dot_look, optics, skin_from_fitzpatrick
from pointillist.imaging.impressions import plan_impressions
from pointillist.imaging.render import render_impressions
from pointillist.imaging.simulate import simulate
from pointillist.imaging.synthetic import synthetic_top_view


def _lightness(img):
    linear = optics.srgb_to_linear(img / 255.0)
    return optics.lightness_from_y(linear @ np.asarray(optics.SRGB_LUMINANCE))


def _skin_patch(skin_lab, size_px):
    linear = optics.xyz_to_linear_srgb(optics.lab_to_xyz(np.asarray(skin_lab)))
    rgb = np.rint(optics.linear_to_srgb(linear) * 255).astype(np.uint8)
    return np.broadcast_to(rgb, (size_px, size_px, 3)).copy()


def _patch_drops(fitzpatrick, mm_per_px, *, side_mm=30.0, seed=1):
    """Mean L* drop of a flat skin patch after each session of a four-session course.

    Two figures per session: the drop of the area seen from afar (light averaged over
    the patch, then L*) and the mean of the per-pixel L* drops (as a close look sees it).
    """
    skin = skin_from_fitzpatrick(fitzpatrick).lab
    look = dot_look(skin)
    size = round(side_mm / mm_per_px)
    img = _skin_patch(skin, size)
    density = np.full((size, size), 1.0, np.float32)  # 100 per cm2
    course = plan_impressions(density, metric_mm2_per_px2=mm_per_px**2, seed=seed, sessions=4)
    inner = (slice(size // 6, size - size // 6),) * 2
    before = optics.srgb_to_linear(img[inner] / 255.0) @ np.asarray(optics.SRGB_LUMINANCE)
    drops = []
    for k in range(1, 5):
        out = render_impressions(img, course.up_to_session(k), look=look)[inner]
        after = optics.srgb_to_linear(out / 255.0) @ np.asarray(optics.SRGB_LUMINANCE)
        area = optics.lightness_from_y(before.mean()) - optics.lightness_from_y(after.mean())
        close = (_lightness(img[inner]) - _lightness(out)).mean()
        drops.append((float(area), float(close)))
    return look, drops


@pytest.mark.parametrize("fitzpatrick", [1, 3, 6])
def test_full_density_patch_darkens_by_the_target(fitzpatrick):
    look, drops = _patch_drops(fitzpatrick, 0.1)
    assert drops[-1][0] == pytest.approx(look.target_drop_l, rel=0.08)


def test_sessions_darken_in_order_session_one_visibly_lighter():
    _, drops = _patch_drops(2, 0.15)
    areas = [area for area, _ in drops]
    assert areas == sorted(areas)
    assert areas[0] < 0.4 * areas[-1]


def test_a_patch_darkens_alike_at_1x_2x_and_4x():
    """Seen from afar (light mixed, then L*) the drop is the same at any pixel size.

    The mean of per-pixel L* drops is not quite: once dots are resolved, each dark dot
    counts with L*'s steep slope in the dark, so a close look reads slightly more than
    the eye at a distance. It stays within 10% over a photo's usual range of scales.
    """
    far = [_patch_drops(2, mm, side_mm=40.0)[1][-1][0] for mm in (1.6, 0.4, 0.1)]
    assert max(far) < 1.05 * min(far), far
    close = [_patch_drops(2, mm, side_mm=40.0)[1][-1][1] for mm in (1.2, 0.6, 0.3)]
    assert max(close) < 1.1 * min(close), close


def test_a_head_darkens_alike_at_1x_2x_and_4x():
    drops = []
    for factor in (1, 2, 4):
        head = synthetic_top_view(
            width=150 * factor, height=170 * factor, mm_per_px=1.6 / factor, seed=1
        )
        sim = simulate(
            head.rgb, mm_per_px=head.mm_per_px, mask=head.bald_mask, detect_face=False, seed=3
        )
        change = _lightness(head.rgb) - _lightness(sim.session_images[-1])
        drops.append(float(change[head.bald_mask].mean()))
    assert max(drops) < 1.1 * min(drops), drops
    assert min(drops) > 6.0
