"""`make bench`: speed of the simulation engine as ratios against a peer, in one process.

Each figure times our code and a peer side by side on the same machine in the same run
(the median of several repeats, after a warm-up that loads the cached numba kernels), so
the ratios hold across machines better than absolute times. Prints a table and writes
``bench/results.json``:

- ``sampler_speedup_vs_scipy``: time of ``scipy.stats.qmc.PoissonDisk`` producing the same
  number of points (>= 50,000) at the same minimum distance, over ours (goal >= 100).
  Our points are checked: no two closer than the minimum distance.
- ``render_speedup_vs_cv2_loop``: 100,000 dots on a 12 MP photo; one-by-one anti-aliased
  ``cv2.circle`` calls (no compositing at all) over our composited render (goal >= 5).
- ``render_vs_memcpy``: our render over one copy of the same 12 MP image (goal <= 20).
- ``simulate_vs_codec``: merged from ``bench/simulate_bench.py`` ``bench_simulate()``
  when that file exists (goal <= 2).
- ``editor_rerender_ms``: the preview editor's server time for one edit at screen
  resolution, median of 20 edits (``bench/editor_bench.py``; goal <= 150 ms). An
  absolute time, not a ratio: the bound is the issue's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numba
import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.spatial import cKDTree
from scipy.stats import qmc

from pointillist.imaging.impressions import plan_impressions
from pointillist.imaging.render import render_impressions
from pointillist.imaging.sampling import PACKING, sample_impressions

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"

SAMPLER_SIDE_PX = 1200
SAMPLER_MM_PER_PX = 0.25
SAMPLER_DENSITY = 0.6  # per mm2 over 300 x 300 mm: 54,000 points
RENDER_SHAPE = (3000, 4000)  # 12 MP
RENDER_MM_PER_PX = 0.1
RENDER_DOTS = 100_000


def _interleaved(
    fns: dict[str, Callable[[], Any]], repeats: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Median time and last result of each function, run in turns so that all see the
    same machine (other processes come and go)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}, results


def bench_sampler(console: Console) -> dict[str, Any]:
    side = SAMPLER_SIDE_PX
    density = np.full((side, side), SAMPLER_DENSITY, np.float32)
    metric = SAMPLER_MM_PER_PX**2
    min_distance_mm = PACKING / np.sqrt(SAMPLER_DENSITY)
    sample_impressions(density[:64, :64], metric_mm2_per_px2=metric, seed=0)  # warm-up

    points = sample_impressions(density, metric_mm2_per_px2=metric, seed=1)
    n = len(points)
    nearest, _ = cKDTree(points * SAMPLER_MM_PER_PX).query(points * SAMPLER_MM_PER_PX, 2)
    closest_mm = float(nearest[:, 1].min())
    if closest_mm < min_distance_mm * (1 - 1e-9):
        raise AssertionError(f"two points {closest_mm} mm apart, under {min_distance_mm} mm")

    side_mm = side * SAMPLER_MM_PER_PX
    radius = min_distance_mm / side_mm  # the same distance in scipy's unit square
    console.print(f"scipy PoissonDisk: {n} points at radius {radius:.5f} (takes a while)...")
    seeds = iter(range(2, 1000))
    times, results = _interleaved(
        {
            "ours": lambda: sample_impressions(
                density, metric_mm2_per_px2=metric, seed=next(seeds)
            ),
            "scipy": lambda: qmc.PoissonDisk(d=2, radius=radius, seed=next(seeds)).random(n),
        },
        3,
    )
    ours_s, scipy_s = times["ours"], times["scipy"]
    scipy_points = results["scipy"]
    return {
        "sampler_speedup_vs_scipy": scipy_s / ours_s,
        "details": {
            "points": n,
            "scipy_points": len(scipy_points),
            "min_distance_mm": min_distance_mm,
            "closest_pair_mm": closest_mm,
            "ours_s": ours_s,
            "scipy_s": scipy_s,
        },
    }


def _skin_photo(shape: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(0)
    rows, cols = shape
    shade = np.linspace(1.0, 0.8, rows, dtype=np.float32)[:, None, None]
    base = np.array([205, 165, 140], np.float32)[None, None, :] * shade
    grain = rng.normal(0, 6, (rows, cols, 1)).astype(np.float32)
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def bench_render(console: Console) -> dict[str, Any]:
    rows, cols = RENDER_SHAPE
    photo = _skin_photo(RENDER_SHAPE)
    area_mm2 = rows * cols * RENDER_MM_PER_PX**2
    density = np.full(RENDER_SHAPE, RENDER_DOTS / area_mm2, np.float32)
    console.print(f"placing {RENDER_DOTS} impressions on {cols} x {rows}...")
    impressions = plan_impressions(
        density, metric_mm2_per_px2=RENDER_MM_PER_PX**2, seed=1, cumulative_fractions=[1.0]
    )
    render_impressions(photo[:64, :64], impressions.up_to_session(1))  # warm-up

    centres = np.rint(impressions.xy * 16).astype(np.int64)  # 4 fractional bits
    radii = np.rint(impressions.semi_axes_px.mean(axis=1) * 16).astype(np.int64)
    colour = (70, 66, 64)

    def cv2_loop() -> np.ndarray:
        canvas = photo.copy()
        for (x, y), r in zip(centres.tolist(), radii.tolist(), strict=True):
            cv2.circle(canvas, (x, y), r, colour, -1, cv2.LINE_AA, 4)
        return canvas

    cv2_loop()
    times, _ = _interleaved(
        {
            "ours": lambda: render_impressions(photo, impressions),
            "cv2": cv2_loop,
            "copy": photo.copy,
        },
        9,
    )
    ours_s, cv2_s, copy_s = times["ours"], times["cv2"], times["copy"]
    return {
        "render_speedup_vs_cv2_loop": cv2_s / ours_s,
        "render_vs_memcpy": ours_s / copy_s,
        "details": {
            "dots": len(impressions),
            "image": f"{cols}x{rows}",
            "ours_s": ours_s,
            "cv2_loop_s": cv2_s,
            "memcpy_s": copy_s,
        },
    }


def bench_simulate_if_present(console: Console) -> dict[str, Any] | None:
    path = HERE / "simulate_bench.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("simulate_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    console.print("simulate vs codec...")
    result: dict[str, Any] = module.bench_simulate()
    return result


GOALS = {
    "sampler_speedup_vs_scipy": (">=", 100.0),
    "render_speedup_vs_cv2_loop": (">=", 5.0),
    "render_vs_memcpy": ("<=", 20.0),
    "simulate_vs_codec": ("<=", 2.0),
    "editor_rerender_ms": ("<=", 150.0),
}


def main() -> int:
    console = Console()
    results: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name, fn in [("render", bench_render), ("sampler", bench_sampler)]:
        out = fn(console)
        details[name] = out.pop("details")
        results.update(out)
    simulate = bench_simulate_if_present(console)
    if simulate is None:
        results["simulate_vs_codec"] = None
        details["simulate"] = "missing: bench/simulate_bench.py not present"
    else:
        results.update(simulate)

    console.print("preview editor re-render...")
    from editor_bench import bench_editor  # beside this file

    editor = bench_editor()
    details["editor"] = editor.pop("details")
    results.update(editor)

    results["details"] = details
    results["machine"] = {
        "cpu_count": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "opencv": cv2.__version__,
    }

    table = Table(title="pointillist bench (ratios measured side by side in this run)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("met", justify="center")
    ok = True
    for key, (op, goal) in GOALS.items():
        value = results.get(key)
        if value is None:
            table.add_row(key, "missing", f"{op} {goal:g}", "-")
            continue
        met = value >= goal if op == ">=" else value <= goal
        ok &= met
        table.add_row(key, f"{value:.1f}", f"{op} {goal:g}", "yes" if met else "NO")
    console.print(table)
    console.print(f"machine: {results['machine']}")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    if not ok:
        console.print("[bold red]some goals are not met[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
