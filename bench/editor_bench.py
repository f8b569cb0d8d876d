"""The preview editor's re-render: server time of one edit at screen resolution.

Opens the editor's simulation on the demo clinic's first photo (scaled to the editor's
screen size) exactly as the page does, then makes the edits a practitioner makes, each
kind :data:`EDITS_PER_KIND` times in turn (a dragged mid-frontal point, the hairline
height, softness, density, years and shade sliders, a brush stroke adding area, and the
session selector), and times each answer of
:func:`pointillist.web.pages.preview.render_edit_json` (the simulation's update, the
render of the session shown, then the JPEG and overlay PNG the page shows). The goal is
150 ms, the issue's bound for the server's share of an edit: the median of every edit,
and of each kind.
"""

from __future__ import annotations

import base64
import os
import statistics
import time
from typing import Any

EDITS_PER_KIND = 10
KINDS = ("drag", "height", "softness", "density", "years", "shade", "brush", "session")


def _stroke(width: int, height: int, k: int) -> str:
    """A brush layer (PNG data URL) with ``k + 1`` red dabs above the hairline."""
    import cv2
    import numpy as np

    layer = np.zeros((height, width, 4), np.uint8)
    for j in range(k + 1):
        centre = (width // 3 + 12 * j, height // 6 + 4 * j)
        cv2.circle(layer, centre, 14, (0, 0, 255, 255), -1)  # BGRA: red
    ok, png = cv2.imencode(".png", layer)
    assert ok
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii")


def bench_editor() -> dict[str, Any]:
    from pointillist.web.demo import demo_photo, demo_table
    from pointillist.web.pages.preview import (
        EditIn,
        EditorState,
        render_edit_json,
        screen_simulation,
        shade_choices,
        warm_shades,
    )

    photo = demo_table()["clients"][0]["photo"]
    sim, size = screen_simulation(demo_photo(photo))
    state = EditorState(client_id=0, photo_id=0, clinic_id=0, sim=sim, photo_size=size)
    warming = warm_shades()  # as opening the page does; done before the practitioner acts
    if warming is not None:
        warming.join()
    assert sim.hairline is not None and sim.hairline.mid_frontal is not None
    mx, my = sim.hairline.mid_frontal
    height, width = sim.image.shape[:2]
    shades = [choice["id"] for choice in shade_choices(None)]
    base: dict[str, Any] = {
        "editor": "bench",
        "height_cm": 8.0,
        "transition_band_mm": 15.0,
        "years": 0.0,
        "density": 1.0,
        "sessions": 4,
        "session": 4,
        "shade": "",
    }
    edits: list[tuple[str, Any]] = []
    for k in range(EDITS_PER_KIND):
        for kind in KINDS:
            change: dict[str, Any] = {}
            if kind == "drag":
                change["points"] = {"mid_frontal": {"x": mx, "y": my + 2 + k}}
            elif kind == "height":
                change["height_cm"] = 7.5 + 0.1 * k
            elif kind == "softness":
                change["transition_band_mm"] = 10.0 + k / 2
            elif kind == "density":
                change["density"] = 0.8 + k / 50
            elif kind == "years":
                change["years"] = float(1 + k % 7)
            elif kind == "shade":
                change["shade"] = shades[k % len(shades)]
            elif kind == "brush":
                change["area_edits"] = _stroke(width, height, k)
            else:
                change["session"] = 1 + k % 4
            base = {**base, **change}
            edits.append((kind, EditIn.model_validate(base)))
    render_edit_json(state, edits[0][1])  # warm-up: kernels and caches
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for kind, edit in edits:
        start, start_cpu = time.perf_counter(), time.process_time()
        render_edit_json(state, edit)
        times[kind].append((time.perf_counter() - start) * 1000.0)
        cpu[kind].append((time.process_time() - start_cpu) * 1000.0)
    every = [t for kind in KINDS for t in times[kind]]
    return {
        "editor_rerender_ms": statistics.median(every),
        "details": {
            "edits": len(every),
            "screen_px": [width, height],
            "median_ms": round(statistics.median(every), 1),
            "max_ms": round(max(every), 1),
            "median_ms_by_edit": {
                kind: round(statistics.median(values), 1) for kind, values in times.items()
            },
            # CPU time of the process (all its threads): what an edit costs whatever
            # else the machine runs; the wall time above is what the page waits.
            "cpu_ms_by_edit": {
                kind: round(statistics.median(values), 1) for kind, values in cpu.items()
            },
            "load_average": [round(v, 2) for v in os.getloadavg()],
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(bench_editor(), indent=2))
