"""Get the pipeline's numba kernels ready: compiled at install, loaded in the background.

The kernels (:mod:`pointillist.imaging._kernels`) are compiled on first use and cached
on disk beside the source; compiling them all takes a minute or more on a small
machine, which a practitioner would otherwise wait through on the first preview after
an install. ``make install`` runs this module once (:func:`warm_kernels`), so that cost
moves into the install, and every later process only loads the cache. It runs the real
pipeline on two small synthetic heads (a top view with a given mask, and a frontal view
with its landmarks), so every kernel is compiled with exactly the argument types a real
simulation passes.

Loading the cache is still most of a second of CPU per process (importing numba, its
lowering tables, linking the cached machine code), all before the first impression can
be placed. :func:`preload_kernels` starts that work on a thread of its own as a
simulation starts, so it runs while the photo is decoded, the face found and the
regions segmented (OpenCV, Pillow and MediaPipe release the GIL while they work); the
impressions stage then finds the kernels loaded. OpenCV's own first-use set-up
(:func:`load_opencv`) starts beside it.

Run ``python -m pointillist.imaging.warmup`` to compile.
"""

from __future__ import annotations

import threading
import time

_preload_lock = threading.Lock()
_preload: threading.Thread | None = None
_opencv: threading.Thread | None = None
_landmarker: threading.Thread | None = None


def warm_kernels() -> float:
    """Run the pipeline once on small synthetic heads; returns the seconds it took."""
    from pointillist.imaging.io import encode_jpeg
    from pointillist.imaging.simulate import simulate
    from pointillist.imaging.synthetic import synthetic_frontal, synthetic_top_view

    start = time.perf_counter()
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
    """Start :func:`load_kernels` on a background thread, once per process.

    A daemon thread: a process that fails early (a bad photo) exits without waiting.
    Kernels called while it runs wait for it on numba's compiler lock.
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


if __name__ == "__main__":
    print("compiling the rendering kernels (once after an install; about a minute) ...")
    print(f"done in {warm_kernels():.0f} s")
