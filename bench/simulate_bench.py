"""``pointillist simulate`` as the user runs it, a whole process, against the codec floor.

The floor (``bench/codec_floor.py``) is a process that only decodes the photo and
encodes the same outputs: what no implementation can avoid. Both are timed by wall
clock, start-up included, alternately, and the median of :data:`REPEATS` runs of each
is taken after one untimed run of each (so that the numba cache and the OS file cache
are warm, as on any run but the first). Inputs:

- ``top_12mp``: a 12 MP (3000 x 4000) JPEG of a synthetic balding head seen from above,
  with the practitioner's ``--mask`` (its exact bald area) and ``--mm-per-px``
  (goal: simulate / floor <= 2);
- ``portrait_2_6mp``: a 2.6 MP (1440 x 1800) portrait, the public-domain fixture
  ``R000618_bald_n6`` enlarged 1.5x, with default options (goal <= 2.5).

``first_run_extra_s``: the first portrait run after ``make install`` minus the warm
median (goal <= 10 s). The install is replayed with ``NUMBA_CACHE_DIR`` and
``XDG_CACHE_HOME`` pointing at empty folders: ``make install``'s kernel build
(``python -m pointillist.imaging.warmup``, timed apart: it compiles the ahead-of-time
extension again, in place, and the JIT build's cache), then the timed run with the
same folders.

Run on its own with ``python bench/simulate_bench.py``; ``bench/run.py`` merges its
result into ``bench/results.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
PORTRAIT = HERE.parent / "tests" / "fixtures" / "preview" / "R000618_bald_n6.jpg"
TOP_WIDTH, TOP_HEIGHT, TOP_MM_PER_PX = 3000, 4000, 0.07
PORTRAIT_SCALE = 1.5
REPEATS = 5


def _pointillist() -> list[str]:
    script = Path(sys.executable).with_name("pointillist")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pointillist"]


def _timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])}... failed: {proc.stderr.strip()[-400:]}")
    return elapsed


def _inputs(folder: Path) -> dict[str, tuple[Path, list[str]]]:
    from pointillist.imaging.io import save_image
    from pointillist.imaging.synthetic import synthetic_top_view

    head = synthetic_top_view(width=TOP_WIDTH, height=TOP_HEIGHT, mm_per_px=TOP_MM_PER_PX, seed=2)
    top = save_image(folder / "top_12mp.jpg", head.rgb)
    mask = folder / "top_12mp.mask.png"
    cv2.imwrite(str(mask), np.where(head.bald_mask, 255, 0).astype(np.uint8))
    portrait = cv2.imread(str(PORTRAIT), cv2.IMREAD_COLOR)
    portrait = cv2.resize(
        portrait, None, fx=PORTRAIT_SCALE, fy=PORTRAIT_SCALE, interpolation=cv2.INTER_CUBIC
    )
    portrait_path = folder / "portrait_2_6mp.jpg"
    cv2.imwrite(str(portrait_path), portrait, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return {
        "top_12mp": (top, ["--mask", str(mask), "--mm-per-px", str(TOP_MM_PER_PX)]),
        "portrait_2_6mp": (portrait_path, []),
    }


def _floor_command(photo: Path, reference: Path, out: Path) -> list[str]:
    """The floor process for the outputs of the simulation run in ``reference``."""
    sessions = len(list(reference.glob("session_*.jpg")))
    sizes = []
    for name in ("before_after.jpg", "overlay.png"):
        image = cv2.imread(str(reference / name), cv2.IMREAD_UNCHANGED)
        sizes.append(f"{image.shape[1]}x{image.shape[0]}")
    script = str(HERE / "codec_floor.py")
    return [sys.executable, script, str(photo), str(out), str(sessions), *sizes]


def _pair(photo: Path, options: list[str], folder: Path) -> dict[str, Any]:
    simulate = [*_pointillist(), "simulate", str(photo), "-o", str(folder / "sim"), *options]
    _timed(simulate)  # untimed: warms the numba and file caches
    floor = _floor_command(photo, folder / "sim", folder / "floor")
    _timed(floor)
    sim_runs, floor_runs = [], []
    for _ in range(REPEATS):
        sim_runs.append(_timed(simulate))
        floor_runs.append(_timed(floor))
    sim_s, floor_s = statistics.median(sim_runs), statistics.median(floor_runs)
    return {
        "ratio": round(sim_s / floor_s, 3),
        "simulate_s": round(sim_s, 3),
        "floor_s": round(floor_s, 3),
        "simulate_runs_s": [round(t, 3) for t in sim_runs],
        "floor_runs_s": [round(t, 3) for t in floor_runs],
        "options": [o if not o.endswith(".png") else Path(o).name for o in options],
    }


def _first_run(photo: Path, folder: Path) -> tuple[float, float]:
    """Seconds of ``make install``'s kernel warm-up and of the first run after it, both
    with empty numba and user caches of their own, as on a machine just installed."""
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(folder / "numba-cache"),
        XDG_CACHE_HOME=str(folder / "user-cache"),
    )
    install = _timed([sys.executable, "-m", "pointillist.imaging.warmup"], env)
    command = [*_pointillist(), "simulate", str(photo), "-o", str(folder / "cold")]
    return install, _timed(command, env)


def bench_simulate() -> dict[str, Any]:
    """Time simulate and its floor side by side; return the ratios and the raw timings."""
    from pointillist.imaging import kernels

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = _inputs(folder)
        pairs = {
            name: _pair(photo, options, folder / name) for name, (photo, options) in inputs.items()
        }
        install, first = _first_run(inputs["portrait_2_6mp"][0], folder)
    warm = pairs["portrait_2_6mp"]["simulate_s"]
    return {
        "simulate_top12mp_vs_codec": pairs["top_12mp"]["ratio"],
        "simulate_portrait_vs_codec": pairs["portrait_2_6mp"]["ratio"],
        "first_run_extra_s": round(first - warm, 2),
        "simulate_timings": {
            **pairs,
            "first_run": {
                "install_warmup_s": round(install, 2),
                "first_s": round(first, 2),
                "warm_s": warm,
            },
            "threads": f"simulate: kernels of the {kernels.build()} build "
            f"({kernels.threads()} thread), OpenCV's default and two encoder threads; floor: "
            "OpenCV's default (its JPEG/PNG encoders are single-threaded)",
        },
    }


if __name__ == "__main__":
    print(json.dumps(bench_simulate(), indent=2))
