"""Compile the pipeline's numba kernels ahead of the first client photo.

The kernels (:mod:`pointillist.imaging._kernels`) are compiled on first use and cached
on disk beside the source; compiling them all takes a minute or more on a small
machine, which a practitioner would otherwise wait through on the first preview after
an install. ``make install`` runs this module once, so that cost moves into the
install, and every later process only loads the cache. It runs the real pipeline on
two small synthetic heads (a top view with a given mask, and a frontal view with its
landmarks), so every kernel is compiled with exactly the argument types a real
simulation passes.

Run it with ``python -m pointillist.imaging.warmup``.
"""

from __future__ import annotations

import time


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


if __name__ == "__main__":
    print("compiling the rendering kernels (once after an install; about a minute) ...")
    print(f"done in {warm_kernels():.0f} s")
