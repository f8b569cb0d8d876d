"""Get the pipeline's kernels ready: built at install, loaded in the background.

The kernels (:mod:`pointillist.imaging._kernels`) come in two builds
(:mod:`pointillist.imaging.kernels`). ``make install`` runs this module once: it
compiles the ahead-of-time build, the one every preview uses, and then the JIT build's
disk cache (:func:`warm_kernels`), the fallback when the first cannot be built, so that
neither costs the practitioner a minute of compiling on the first preview after an
install. The warm-up runs the real pipeline on two small synthetic heads (a top view
with a given mask, and a frontal view with its landmarks), so every JIT kernel is
compiled with exactly the argument types a real simulation passes.

Under the JIT build, loading the cache is still most of a second of CPU per process
(importing numba, its lowering tables, linking the cached machine code), all before the
first impression can be placed. :func:`preload_kernels` then starts that work on a
thread of its own as a simulation starts, so it runs while the photo is decoded, the
face found and the regions segmented (OpenCV, Pillow and MediaPipe release the GIL
while they work). The ahead-of-time build needs none of it. OpenCV's own first-use
set-up (:func:`load_opencv`) starts on a thread either way, and so does the face
landmarker's creation when the run will look for faces (:func:`preload_models`).

Run ``python -m pointillist.imaging.warmup`` to build both.
"""

from __future__ import annotations

import sys
import threading
import time

_preload_lock = threading.Lock()
_preload: threading.Thread | None = None
_opencv: threading.Thread | None = None
_landmarker: threading.Thread | None = None


def warm_kernels() -> float:
    """Compile the JIT build: run the pipeline once on small synthetic heads with it;
    returns the seconds it took."""
    from pointillist.imaging import kernels
    from pointillist.imaging.io import encode_jpeg
    from pointillist.imaging.simulate import simulate
    from pointillist.imaging.synthetic import synthetic_frontal, synthetic_top_view

    start = time.perf_counter()
    with kernels.forced("jit"):
        top = synthetic_top_view(width=400, height=450, mm_per_px=0.6, seed=1)
        # Through the encoder and loader, as a client photo arrives: the decoded pixels'
        # memory flags are part of what a kernel is compiled for.
        photo = encode_jpeg(top.rgb)
        simulate(photo, mask=top.bald_mask, mm_per_px=top.mm_per_px, detect_face=False)
        front = synthetic_frontal(width=420, height=540, mm_per_px=0.5, seed=1)
        simulate(encode_jpeg(front.rgb), landmarks=front.keypoints)
    return time.perf_counter() - start


def load_kernels() -> None:
    """Load every kernel a simulation calls, with the argument types it passes.

    Tiny inputs through the public functions: a flat and a curved surface metric (the
    sampler's two survey kernels), the layering of sessions and the renderer. Nothing
    here is compiled that :func:`warm_kernels` did not compile.
    """
    import numpy as np

    from pointillist.imaging.impressions import plan_impressions
    from pointillist.imaging.render import render_sessions

    density = np.full((24, 24), 0.5, np.float32)
    curved = np.zeros((24, 24, 3), np.float32)
    curved[..., 0] = curved[..., 2] = 0.25
    for metric in (0.25, curved):
        course = plan_impressions(
            density, metric_mm2_per_px2=metric, seed=0, cumulative_fractions=[0.5, 1.0]
        )
    render_sessions(np.zeros((24, 24, 3), np.uint8), course)


def _load_quietly() -> None:
    # A failure here is met again, and reported, where the pipeline calls the kernel.
    try:
        from pointillist.imaging import kernels

        # Choosing the build imports it (the extension, or numba); only the JIT build
        # has more to load.
        if kernels.build() == "jit":
            load_kernels()
    except Exception:
        return


def load_opencv() -> None:
    """Do OpenCV's one-time set-up that the regions stage would otherwise wait for.

    OpenCV builds its CIELAB conversion tables on the first ``cvtColor`` to Lab (about
    0.1 s of CPU, more than the conversion of the work grid itself), and the person
    segmenter's network is read from the package. Both run in C++ without the GIL, so
    on their own thread they overlap with the decoding of the photo and the face
    detection.
    """
    import cv2
    import numpy as np

    from pointillist.imaging.segmenter import load_model

    cv2.cvtColor(np.zeros((1, 1, 3), np.float32), cv2.COLOR_RGB2Lab)
    load_model()


def _opencv_quietly() -> None:
    # As for the kernels: a failure is met again, and reported, where the stage needs it.
    try:
        load_opencv()
    except Exception:
        return


def _landmarker_quietly() -> None:
    # Likewise: detect_faces creates the landmarker itself, and reports why it cannot.
    try:
        from pointillist.imaging.landmarks import load_landmarker

        load_landmarker()
    except Exception:
        return


def preload_models(*, landmarker: bool) -> None:
    """Start :func:`load_opencv`, and with ``landmarker`` the creation of the face
    landmarker (:func:`~pointillist.imaging.landmarks.load_landmarker`), each on a
    thread of its own, once per process.

    The ``pointillist simulate`` command calls it first thing, so that the
    landmarker's model is read and its graph built (a tenth of a second of C++ that
    does not hold the GIL) while the pipeline is imported and the photo decoded;
    :func:`preload_kernels` calls it too. Two threads, not one: the regions stage
    waits for OpenCV's tables, and must not wait for the landmarker's set-up too.
    """
    global _opencv, _landmarker
    with _preload_lock:
        # Not daemons: OpenCV aborts the process (std::terminate) if it exits while
        # a thread is inside a conversion, as a run refused early (a bad photo) would;
        # the exit waits for them instead, a tenth of a second or two at most.
        if _opencv is None:
            _opencv = threading.Thread(target=_opencv_quietly, name="opencv-preload")
            _opencv.start()
        if landmarker and _landmarker is None:
            _landmarker = threading.Thread(target=_landmarker_quietly, name="landmarker-preload")
            _landmarker.start()


def preload_kernels() -> None:
    """On a background thread, once per process: choose the kernels' build (which
    imports it) and, for the JIT build, :func:`load_kernels`; and OpenCV's set-up.

    A daemon thread: a process that fails early (a bad photo) exits without waiting.
    Kernels called while it runs wait for it (the build's choice is locked, and numba's
    compiler too).
    """
    global _preload
    with _preload_lock:
        if _preload is None:
            _preload = threading.Thread(target=_load_quietly, name="kernel-preload", daemon=True)
            _preload.start()
    preload_models(landmarker=False)


def wait_for_opencv() -> None:
    """Wait for :func:`load_opencv` if a preload started it, before converting to Lab:
    OpenCV fills its Lab tables on the first conversion, and two threads must not be
    left to fill them at once (it is done long before the regions stage needs them)."""
    opencv = _opencv
    if opencv is not None:
        opencv.join()


def main() -> int:
    from pointillist.imaging import _kernels_build

    # Without the ahead-of-time build (reported there) the install goes on: the JIT
    # build below serves, only slower to start.
    _kernels_build.main()
    print("compiling the kernels' JIT build, the fallback (once after an install; a minute) ...")
    print(f"done in {warm_kernels():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
