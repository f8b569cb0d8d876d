"""The sampler's and the renderer's kernels, from whichever build of them is ready.

The kernels are written once, for numba, in :mod:`pointillist.imaging._kernels`. They
come in two builds:

- **ahead of time** (``aot``): ``make install`` compiles them with numba's ``pycc`` into
  the C extension ``pointillist.imaging._kernels_aot``
  (:mod:`pointillist.imaging._kernels_build`). It imports in about a millisecond and
  needs only NumPy, where numba's import and the loading of its cached machine code take
  0.6 s of CPU in every process: most of what a preview's start-up cost on top of the
  photo's own decoding and encoding (issue 8). Its kernels run on one core.
- **just in time** (``jit``): numba compiles ``_kernels`` on first use and caches the
  code on disk; the kernels marked ``parallel`` use every core. Used when the
  extension is missing (an install without a C compiler) or was built from another
  version of the source, which its stamp tells (:func:`source_stamp`): a stale build
  would silently draw with old code.

The choice is made at the first call, not at import, so that a process that ends up
with the JIT build imports numba where it first needs it (on the preload thread of
:mod:`pointillist.imaging.warmup`). ``POINTILLIST_KERNELS=jit`` forces the JIT build
(to compare, or to debug the kernels in Python with ``NUMBA_DISABLE_JIT``);
``POINTILLIST_KERNELS=aot`` refuses to run without the ahead-of-time build.

The functions here are private plumbing (no validation): the public, typed wrappers are
:mod:`pointillist.imaging.sampling` and :mod:`pointillist.imaging.render`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from pointillist.errors import PointillistError

BUILDS = ("aot", "jit")
ENVIRONMENT = "POINTILLIST_KERNELS"

# What the ahead-of-time build is made from: the kernels and the signatures they are
# exported with. A change to either makes the built extension stale.
_SOURCES = ("_kernels.py", "_kernels_build.py")

_lock = threading.Lock()
_chosen: tuple[str, Any] | None = None
_forced: str | None = None


def source_stamp() -> int:
    """A 60-bit digest of the kernels' source and signatures, built into the extension."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    return int(digest.hexdigest()[:15], 16)


def ahead_of_time_module() -> ModuleType | None:
    """The ahead-of-time build if it is installed and was built from this source."""
    try:
        from pointillist.imaging import _kernels_aot  # type: ignore[attr-defined]
    except ImportError:
        return None
    module: ModuleType = _kernels_aot
    return module if module.source_stamp() == source_stamp() else None


def _wanted() -> str:
    wanted = _forced or os.environ.get(ENVIRONMENT, "").strip().lower() or "auto"
    if wanted not in (*BUILDS, "auto"):
        raise PointillistError(
            f"{ENVIRONMENT}={wanted!r}: give aot, jit, or leave it unset (the fastest ready)"
        )
    return wanted


def _choose() -> tuple[str, Any]:
    wanted = _wanted()
    if wanted != "jit":
        module = ahead_of_time_module()
        if module is not None:
            return "aot", module
        if wanted == "aot":
            raise PointillistError(
                f"{ENVIRONMENT}=aot, but the ahead-of-time kernels are missing or were built "
                "from other sources: run `make install` (it needs a C compiler)"
            )
    from pointillist.imaging import _kernels

    return "jit", _kernels


def ahead_of_time_ready() -> bool:
    """Whether the kernels will run from the ahead-of-time build (imports no numba)."""
    return _wanted() != "jit" and ahead_of_time_module() is not None


def _impl() -> Any:
    global _chosen
    chosen = _chosen
    if chosen is None:
        with _lock:
            if _chosen is None:
                _chosen = _choose()
            chosen = _chosen
    return chosen[1]


def build() -> str:
    """``"aot"`` or ``"jit"``: the build the kernels run from in this process."""
    _impl()
    assert _chosen is not None
    return _chosen[0]


@contextmanager
def forced(name: str) -> Iterator[None]:
    """Run the kernels from one build while inside (tests and benchmarks compare them)."""
    global _chosen, _forced
    if name not in BUILDS:
        raise ValueError(f"build {name!r}: choose one of {BUILDS}")
    with _lock:
        before = _chosen, _forced
        _forced, _chosen = name, None
    try:
        yield
    finally:
        with _lock:
            _chosen, _forced = before


def threads() -> int:
    """Cores the kernels of the current build use (the JIT build's numba threads)."""
    if build() == "aot":
        return 1
    import numba

    return int(numba.get_num_threads())


# ---------------------------------------------------------------------------------------
# The kernels (see :mod:`pointillist.imaging._kernels` for what each computes)


def surface_measure(
    density: Any, metric: Any, r_factor: float, floor_density: float
) -> tuple[float, float, float, Any, Any]:
    """Expected point count, surface area (mm2), smallest search radius (px), tile bounds.

    ``r_factor / sqrt(max(n, floor_density))`` is the minimum distance in mm at a pixel
    of density ``n``; the returned radius is the smallest such distance in pixels over
    the pixels of positive density (``inf`` if there are none, ``-inf`` if the metric
    is not positive definite at one of them). The last two results hold, per
    ``_kernels.SAMPLING_TILE``-pixel tile, the largest pixel weight (expected points
    per pixel) in it, and its density if every pixel of the tile has the same one (else
    -1): :func:`blue_noise` then needs no look-up in the map for candidates there.

    A flat photo's map (one metric) is summed in one thread: at about a nanosecond a
    pixel, starting threads would cost more than they save (and far more on a busy
    machine); a metric field's square roots per pixel are shared among threads.
    """
    impl = _impl()
    if metric.shape[0] == 1:
        return impl._measure_flat(density, metric, r_factor, floor_density)  # type: ignore[no-any-return]
    return impl._measure_field(density, metric, r_factor, floor_density)  # type: ignore[no-any-return]


def blue_noise(*args: Any) -> Any:
    return _impl().blue_noise(*args)


def assign_layers(*args: Any) -> Any:
    return _impl().assign_layers(*args)


def prepare_dots(*args: Any) -> Any:
    return _impl().prepare_dots(*args)


def strip_index(*args: Any) -> Any:
    return _impl().strip_index(*args)


def composite_layers(*args: Any) -> None:
    _impl().composite_layers(*args)
