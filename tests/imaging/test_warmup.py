"""The install-time warm-up compiles every kernel a real simulation needs, and the
background load at the start of a simulation loads only those."""

from __future__ import annotations

from pointillist.imaging import _kernels, warmup
from pointillist.imaging.io import encode_jpeg
from pointillist.imaging.simulate import simulate
from pointillist.imaging.warmup import load_kernels, preload_kernels, warm_kernels


def _signatures() -> dict[str, set[str]]:
    return {
        name: {str(sig) for sig in getattr(_kernels, name).signatures}
        for name in dir(_kernels)
        if hasattr(getattr(_kernels, name), "signatures")
    }


def test_a_photo_after_the_warm_up_compiles_nothing_new(front_head, top_head):
    warm_kernels()
    warmed = _signatures()
    # Photos arrive as files (decoded read-only) and other sizes than the warm-up's.
    simulate(encode_jpeg(front_head.rgb), landmarks=front_head.keypoints, seed=9)
    simulate(encode_jpeg(top_head.rgb), mm_per_px=top_head.mm_per_px, detect_face=False)
    # Arrays made in memory (the web editor's screen-sized copies) are writeable.
    simulate(front_head.rgb.copy(), landmarks=front_head.keypoints, seed=9)
    after = _signatures()
    new = {name: after[name] - warmed.get(name, set()) for name in after}
    assert not any(new.values()), new


def test_the_background_load_compiles_nothing_the_warm_up_did_not():
    warm_kernels()
    warmed = _signatures()
    load_kernels()
    assert _signatures() == warmed


def test_the_background_load_starts_once_per_process():
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
