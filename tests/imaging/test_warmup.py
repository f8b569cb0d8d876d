"""The install-time warm-up compiles every JIT kernel a real simulation needs, and the
background load at the start of a simulation loads only those (when the kernels run
from the JIT build; the ahead-of-time build is tested in test_kernels.py).

Each check runs in a fresh process: which kernels a process has loaded depends on what
ran in it before (the dot-look solve is cached per process, for one), and a user's
process starts fresh.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pointillist.imaging import warmup
from pointillist.imaging.warmup import preload_kernels

_SIGNATURES = """
    from pointillist.imaging import _kernels, kernels
    from pointillist.imaging.warmup import load_kernels, warm_kernels

    def signatures():
        return {
            name: {str(sig) for sig in getattr(_kernels, name).signatures}
            for name in dir(_kernels)
            if hasattr(getattr(_kernels, name), "signatures")
        }
"""


def _fresh_process(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SIGNATURES) + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_a_photo_after_the_warm_up_compiles_nothing_new():
    out = _fresh_process(
        """
        from pointillist.imaging.io import encode_jpeg
        from pointillist.imaging.simulate import simulate
        from pointillist.imaging.synthetic import synthetic_frontal, synthetic_top_view

        warm_kernels()
        warmed = signatures()
        front = synthetic_frontal(width=480, height=600, mm_per_px=0.45, seed=4)
        top = synthetic_top_view(width=360, height=420, mm_per_px=0.65, seed=4)
        with kernels.forced("jit"):
            # Photos arrive as files (decoded read-only) and other sizes than the
            # warm-up's; arrays made in memory (the web editor's copies) are writeable.
            simulate(encode_jpeg(front.rgb), landmarks=front.keypoints, seed=9)
            simulate(encode_jpeg(top.rgb), mm_per_px=top.mm_per_px, detect_face=False)
            simulate(front.rgb.copy(), landmarks=front.keypoints, seed=9)
        after = signatures()
        assert any(after.values())
        print({name: after[name] - warmed.get(name, set()) for name in after if
               after[name] - warmed.get(name, set())})
        """
    )
    assert out == "{}"


def test_the_background_load_compiles_nothing_the_warm_up_did_not():
    out = _fresh_process(
        """
        warm_kernels()
        warmed = signatures()
        with kernels.forced("jit"):
            load_kernels()
        print(signatures() == warmed, sum(map(len, warmed.values())))
        """
    )
    same, count = out.split()
    assert same == "True" and int(count) >= 7


def test_the_background_load_starts_once_per_process():
    # (whichever the build: with the ahead-of-time one the thread has nothing to load)
    preload_kernels()
    first = warmup._preload
    assert first is not None
    preload_kernels()
    assert warmup._preload is first
    first.join()
    assert not first.is_alive()


def test_the_landmarker_is_created_ahead_when_faces_will_be_detected():
    from pointillist.imaging import landmarks

    warmup.preload_models(landmarker=True)
    thread = warmup._landmarker
    assert thread is not None
    thread.join()
    assert landmarks._landmarker is not None
    warmup.preload_models(landmarker=True)
    assert warmup._landmarker is thread
