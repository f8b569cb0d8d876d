"""``simulate_vs_codec``: a whole simulation against the image codec work it cannot avoid.

The input is a 12 MP JPEG (4000 x 3000) of a synthetic balding head seen from above;
the simulation runs every stage (face detection, regions, head model, treatment area,
skin colour, 4 sessions of impressions, rendering, before/after, overlay) and writes
its outputs. The peer is the codec work alone: decoding the same JPEG and encoding and
writing the same output images (4 session JPEGs, the before/after JPEG, the overlay PNG).
A warm-up run first loads the cached numba kernels, MediaPipe and the colour model; then
the median of several runs of each is taken. Goal: simulation / codec <= 2.

Run on its own with ``python bench/simulate_bench.py``; ``bench/run.py`` merges its
result into ``bench/results.json``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 3000, 4000
MM_PER_PX = 0.07
REPEATS = 3


def _photo(folder: Path) -> Path:
    from pointillist.imaging.io import save_image
    from pointillist.imaging.synthetic import synthetic_top_view

    head = synthetic_top_view(width=WIDTH, height=HEIGHT, mm_per_px=MM_PER_PX, seed=2)
    return save_image(folder / "top_12mp.jpg", head.rgb)


def _codec(photo: Path, outputs: Any, folder: Path) -> float:
    from pointillist.imaging.io import encode_jpeg, encode_png, load_image

    start = time.perf_counter()
    load_image(photo)
    for k, image in enumerate(outputs.session_images, start=1):
        (folder / f"session_{k}.jpg").write_bytes(encode_jpeg(image))
    (folder / "before_after.jpg").write_bytes(encode_jpeg(outputs.before_after))
    (folder / "overlay.png").write_bytes(encode_png(outputs.overlay))
    return time.perf_counter() - start


def bench_simulate() -> dict[str, Any]:
    """Time simulation and codec side by side; return the ratio and the raw timings."""
    from pointillist.imaging.simulate import simulate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = _photo(folder)
        sim_out = folder / "simulation"
        codec_out = folder / "codec"
        codec_out.mkdir()

        warm = simulate(photo, mm_per_px=MM_PER_PX, sessions=4, seed=1)
        warm.write(sim_out)

        sim_times: list[float] = []
        codec_times: list[float] = []
        stages: list[dict[str, float]] = []
        result = warm
        for repeat in range(REPEATS):
            start = time.perf_counter()
            result = simulate(photo, mm_per_px=MM_PER_PX, sessions=4, seed=1 + repeat)
            result.write(sim_out)
            sim_times.append(time.perf_counter() - start)
            stages.append(dict(result.timings_ms))
            codec_times.append(_codec(photo, result, codec_out))

    sim_s = statistics.median(sim_times)
    codec_s = statistics.median(codec_times)
    median_stages = {
        name: round(statistics.median(s[name] for s in stages), 1) for name in stages[0]
    }
    return {
        "simulate_vs_codec": round(sim_s / codec_s, 3),
        "simulate_timings": {
            "image": f"{WIDTH}x{HEIGHT}",
            "sessions": 4,
            "impressions": result.cumulative_impressions()[-1],
            "simulate_s": round(sim_s, 4),
            "codec_s": round(codec_s, 4),
            "simulate_runs_s": [round(t, 4) for t in sim_times],
            "codec_runs_s": [round(t, 4) for t in codec_times],
            "stages_ms": median_stages,
        },
    }


if __name__ == "__main__":
    print(json.dumps(bench_simulate(), indent=2))
