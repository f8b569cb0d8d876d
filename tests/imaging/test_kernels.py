"""The kernels' two builds: the ahead-of-time one `make install` compiles, used by every
preview, and numba's JIT one, the fallback. Both draw the same pixels."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pointillist.errors import PointillistError
from pointillist.imaging import kernels
from pointillist.imaging.io import encode_jpeg
from pointillist.imaging.simulate import simulate


def test_the_install_built_the_ahead_of_time_kernels_from_this_source():
    # `make install` compiles them; a failed or stale build would leave every preview
    # half a second slower to start without anyone noticing.
    assert kernels.ahead_of_time_ready()
    assert kernels.build() == "aot"


@pytest.mark.parametrize("view", ["front", "top"])
def test_both_builds_draw_the_same_pixels(view, front_head, top_head):
    def run():
        if view == "front":
            sim = simulate(encode_jpeg(front_head.rgb), landmarks=front_head.keypoints, seed=3)
        else:
            sim = simulate(
                encode_jpeg(top_head.rgb),
                mask=top_head.bald_mask,
                mm_per_px=top_head.mm_per_px,
                detect_face=False,
                seed=3,
            )
        return sim.session_images, sim.cumulative_impressions()

    with kernels.forced("aot"):
        assert kernels.build() == "aot"
        aot_images, aot_counts = run()
    with kernels.forced("jit"):
        assert kernels.build() == "jit"
        jit_images, jit_counts = run()
    assert aot_counts == jit_counts and aot_counts[-1] > 100
    for aot_image, jit_image in zip(aot_images, jit_images, strict=True):
        np.testing.assert_array_equal(aot_image, jit_image)


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )


def test_a_preview_with_the_ahead_of_time_build_never_imports_numba(top_head, tmp_path):
    mask = tmp_path / "mask.npy"
    np.save(mask, top_head.bald_mask)
    photo = tmp_path / "top.jpg"
    photo.write_bytes(encode_jpeg(top_head.rgb))
    out = _run(
        f"""
        import sys
        import numpy as np
        from pointillist.imaging.simulate import simulate
        sim = simulate({str(photo)!r}, mask=np.load({str(mask)!r}), mm_per_px=0.6,
                       detect_face=False)
        assert sim.cumulative_impressions()[-1] > 100
        print('numba' in sys.modules)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_stale_build_is_not_used(monkeypatch):
    # Built from other sources (a kernel edited since `make install`): the JIT build runs.
    monkeypatch.setattr(kernels, "source_stamp", lambda: 12345)
    assert kernels.ahead_of_time_module() is None
    assert not kernels.ahead_of_time_ready()
    with kernels.forced("jit"):
        assert kernels.build() == "jit"


def test_the_environment_chooses_a_build_or_says_what_it_takes():
    code = """
        from pointillist.imaging import kernels
        print(kernels.build())
        """
    assert _run(code, POINTILLIST_KERNELS="jit").stdout.strip() == "jit"
    assert _run(code, POINTILLIST_KERNELS="AOT").stdout.strip() == "aot"
    bad = _run(code, POINTILLIST_KERNELS="gpu")
    assert bad.returncode != 0
    assert "POINTILLIST_KERNELS='gpu': give aot, jit, or leave it unset" in bad.stderr


def test_requiring_a_missing_ahead_of_time_build_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(kernels, "ahead_of_time_module", lambda: None)
    monkeypatch.setenv("POINTILLIST_KERNELS", "aot")
    monkeypatch.setattr(kernels, "_chosen", None)
    with pytest.raises(PointillistError, match="run `make install`"):
        kernels.build()
