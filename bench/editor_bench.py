"""The preview editor's re-render: server time of one edit at screen resolution.

Opens the editor's simulation on the demo clinic's first photo (scaled to the editor's
720 px) exactly as the page does, then makes 20 edits of the kinds a practitioner makes
(hairline height, a dragged mid-frontal point, softness, density, years, the session
count) and times each answer of :func:`pointillist.web.pages.preview.render_edit_json`
(the simulation's update, then the JPEG and overlay PNG the page shows). The goal is
150 ms, the issue's bound for the server's share of an edit.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

EDITS = 20


def bench_editor() -> dict[str, Any]:
    from pointillist.web.demo import demo_photo, demo_table
    from pointillist.web.pages.preview import (
        EditIn,
        EditorState,
        render_edit_json,
        screen_simulation,
    )

    photo = demo_table()["clients"][0]["photo"]
    sim, size = screen_simulation(demo_photo(photo))
    state = EditorState(client_id=0, photo_id=0, clinic_id=0, sim=sim, photo_size=size)
    assert sim.hairline is not None and sim.hairline.mid_frontal is not None
    mx, my = sim.hairline.mid_frontal
    base: dict[str, Any] = {
        "editor": "bench",
        "height_cm": 8.0,
        "transition_band_mm": 15.0,
        "years": 0.0,
        "density": 1.0,
        "sessions": 4,
        "session": 4,
    }
    edits = []
    for k in range(EDITS):
        kind = k % 5
        change: dict[str, Any] = {}
        if kind == 0:
            change["height_cm"] = 7.5 + 0.1 * k
        elif kind == 1:
            change["points"] = {"mid_frontal": {"x": mx, "y": my + 2 + k}}
        elif kind == 2:
            change["transition_band_mm"] = 10.0 + k / 2
        elif kind == 3:
            change["density"] = 0.8 + k / 100
        else:
            change["years"] = float(k % 7)
        base = {**base, **change}
        edits.append(EditIn.model_validate(base))
    render_edit_json(state, edits[0])  # warm-up: kernels and caches
    times = []
    for edit in edits:
        start = time.perf_counter()
        render_edit_json(state, edit)
        times.append((time.perf_counter() - start) * 1000.0)
    return {
        "editor_rerender_ms": statistics.median(times),
        "details": {
            "edits": EDITS,
            "screen_px": list(sim.image.shape[1::-1]),
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
        },
    }
