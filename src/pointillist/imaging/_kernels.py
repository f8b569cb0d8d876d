"""Numba kernels behind the sampler and the renderer (private; no validation here).

The public, typed wrappers live in :mod:`pointillist.imaging.sampling` and
:mod:`pointillist.imaging.render`; they check inputs and choose parameters. Every
kernel is compiled once and cached on disk (``cache=True``), so only the first run on a
machine pays for compilation.

Conventions: images are indexed ``[row, col]``; a point ``(x, y)`` is in pixel units with
pixel ``(row, col)`` covering ``[col, col + 1) x [row, row + 1)``. A surface metric is a
``(Hm, Wm, 3)`` array of ``(g11, g12, g22)``; ``Hm == 1`` means one metric for the whole
image (a flat photo).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]

# ---------------------------------------------------------------------------------------
# Sampling


@numba.njit(cache=True, inline="always")
def _metric_at(metric: Array, row: int, col: int) -> tuple[float, float, float]:
    if metric.shape[0] == 1:
        return metric[0, 0, 0], metric[0, 0, 1], metric[0, 0, 2]
    return metric[row, col, 0], metric[row, col, 1], metric[row, col, 2]


@numba.njit(cache=True, inline="always")
def _smallest_eigenvalue(g11: float, g12: float, g22: float) -> float:
    half_trace = 0.5 * (g11 + g22)
    half_diff = 0.5 * (g11 - g22)
    return half_trace - math.sqrt(half_diff * half_diff + g12 * g12)


@numba.njit(cache=True)
def surface_measure(
    density: Array, metric: Array, r_factor: float, floor_density: float
) -> tuple[float, float, float]:
    """Expected point count, surface area (mm2) and the smallest search radius in px.

    ``r_factor / sqrt(max(n, floor_density))`` is the minimum distance in mm at a pixel
    of density ``n``; the returned radius is the smallest such distance in pixels over
    the pixels of positive density (``inf`` if there are none).
    """
    rows, cols = density.shape
    expected = 0.0
    area = 0.0
    min_radius_px = np.inf
    for r in range(rows):
        for c in range(cols):
            n = density[r, c]
            if n <= 0.0:
                continue
            g11, g12, g22 = _metric_at(metric, r, c)
            pixel_area = math.sqrt(max(g11 * g22 - g12 * g12, 0.0))
            expected += n * pixel_area
            area += pixel_area
            radius_mm = r_factor / math.sqrt(max(n, floor_density))
            lam = _smallest_eigenvalue(g11, g12, g22)
            if lam > 0.0:
                radius_px = radius_mm / math.sqrt(lam)
                min_radius_px = min(min_radius_px, radius_px)
    return expected, area, min_radius_px


@numba.njit(cache=True)
def _candidates(density: Array, metric: Array, mean_count: float, seed: int) -> tuple[Array, Array]:
    """Poisson process of intensity proportional to ``density * surface area``, shuffled.

    ``mean_count`` is the expected number of candidates over the whole map. The events
    are laid along the raster order by exponential gaps (one pass, no cumulative-sum
    array), then shuffled so that acceptance proceeds in random order.
    """
    np.random.seed(seed)
    rows, cols = density.shape
    total = 0.0
    for r in range(rows):
        for c in range(cols):
            n = density[r, c]
            if n > 0.0:
                g11, g12, g22 = _metric_at(metric, r, c)
                total += n * math.sqrt(max(g11 * g22 - g12 * g12, 0.0))
    capacity = int(mean_count + 6.0 * math.sqrt(mean_count) + 16.0)
    xs = np.empty(capacity, np.float64)
    ys = np.empty(capacity, np.float64)
    count = 0
    if total <= 0.0:
        return xs[:0], ys[:0]
    scale = mean_count / total
    next_event = np.random.exponential(1.0)
    acc = 0.0
    for r in range(rows):
        for c in range(cols):
            n = density[r, c]
            if n <= 0.0:
                continue
            g11, g12, g22 = _metric_at(metric, r, c)
            acc += scale * n * math.sqrt(max(g11 * g22 - g12 * g12, 0.0))
            while next_event < acc and count < capacity:
                xs[count] = c + np.random.random()
                ys[count] = r + np.random.random()
                count += 1
                next_event += np.random.exponential(1.0)
    for i in range(count - 1, 0, -1):
        j = np.random.randint(0, i + 1)
        xs[i], xs[j] = xs[j], xs[i]
        ys[i], ys[j] = ys[j], ys[i]
    return xs[:count], ys[:count]


@numba.njit(cache=True)
def blue_noise(
    density: Array,
    metric: Array,
    existing: Array,
    n_new: int,
    mean_candidates: float,
    r_factor: float,
    floor_density: float,
    cell_px: float,
    seed: int,
) -> Array:
    """Dart throwing with a variable, metric-measured minimum distance.

    Candidates come from :func:`_candidates`; each is accepted if no point (existing or
    accepted) lies within its own minimum distance ``r_factor / sqrt(max(n, floor))``
    measured in mm with the surface metric at the candidate. Stops after ``n_new``
    acceptances or when the candidates run out. Returns the new points only.
    """
    rows, cols = density.shape
    xs, ys = _candidates(density, metric, mean_candidates, seed)
    n_old = existing.shape[0]
    capacity = n_old + n_new
    px = np.empty(capacity, np.float64)
    py = np.empty(capacity, np.float64)
    grid_cols = math.ceil(cols / cell_px) + 1
    grid_rows = math.ceil(rows / cell_px) + 1
    head = np.full(grid_rows * grid_cols, -1, np.int32)
    nxt = np.empty(capacity, np.int32)
    inv_cell = 1.0 / cell_px
    for i in range(n_old):
        x = existing[i, 0]
        y = existing[i, 1]
        px[i] = x
        py[i] = y
        gx = min(max(int(x * inv_cell), 0), grid_cols - 1)
        gy = min(max(int(y * inv_cell), 0), grid_rows - 1)
        cell = gy * grid_cols + gx
        nxt[i] = head[cell]
        head[cell] = i
    count = n_old
    for k in range(xs.shape[0]):
        if count - n_old >= n_new:
            break
        x = xs[k]
        y = ys[k]
        col = min(int(x), cols - 1)
        row = min(int(y), rows - 1)
        n = density[row, col]
        if n <= 0.0:
            continue
        g11, g12, g22 = _metric_at(metric, row, col)
        radius_mm = r_factor / math.sqrt(max(n, floor_density))
        radius2 = radius_mm * radius_mm
        radius_px = radius_mm / math.sqrt(_smallest_eigenvalue(g11, g12, g22))
        gx0 = max(int((x - radius_px) * inv_cell), 0)
        gx1 = min(int((x + radius_px) * inv_cell), grid_cols - 1)
        gy0 = max(int((y - radius_px) * inv_cell), 0)
        gy1 = min(int((y + radius_px) * inv_cell), grid_rows - 1)
        ok = True
        for gy in range(gy0, gy1 + 1):
            for gx in range(gx0, gx1 + 1):
                j = head[gy * grid_cols + gx]
                while j >= 0:
                    dx = px[j] - x
                    dy = py[j] - y
                    if g11 * dx * dx + 2.0 * g12 * dx * dy + g22 * dy * dy < radius2:
                        ok = False
                        break
                    j = nxt[j]
                if not ok:
                    break
            if not ok:
                break
        if not ok:
            continue
        px[count] = x
        py[count] = y
        gx = min(int(x * inv_cell), grid_cols - 1)
        gy = min(int(y * inv_cell), grid_rows - 1)
        cell = gy * grid_cols + gx
        nxt[count] = head[cell]
        head[cell] = count
        count += 1
    out = np.empty((count - n_old, 2), np.float64)
    for i in range(n_old, count):
        out[i - n_old, 0] = px[i]
        out[i - n_old, 1] = py[i]
    return out


# ---------------------------------------------------------------------------------------
# Rendering


@numba.njit(cache=True)
def tile_index(
    x0: Array, y0: Array, x1: Array, y1: Array, tile: int, tiles_x: int, tiles_y: int
) -> tuple[Array, Array]:
    """Compressed lists of the dots whose bounding box (inclusive pixels) meets each tile."""
    n_tiles = tiles_x * tiles_y
    counts = np.zeros(n_tiles + 1, np.int64)
    n = x0.shape[0]
    for i in range(n):
        if x1[i] < x0[i] or y1[i] < y0[i]:
            continue
        for ty in range(y0[i] // tile, y1[i] // tile + 1):
            for tx in range(x0[i] // tile, x1[i] // tile + 1):
                counts[ty * tiles_x + tx + 1] += 1
    for t in range(n_tiles):
        counts[t + 1] += counts[t]
    fill = counts[:-1].copy()
    members = np.empty(counts[n_tiles], np.int32)
    for i in range(n):
        if x1[i] < x0[i] or y1[i] < y0[i]:
            continue
        for ty in range(y0[i] // tile, y1[i] // tile + 1):
            for tx in range(x0[i] // tile, x1[i] // tile + 1):
                t = ty * tiles_x + tx
                members[fill[t]] = i
                fill[t] += 1
    return counts, members


@numba.njit(cache=True, parallel=True, fastmath=True)
def composite_dots(
    out: Array,
    starts: Array,
    members: Array,
    tile: int,
    tiles_x: int,
    cx: Array,
    cy: Array,
    conic: Array,
    inv_sigma_q: Array,
    q_max: Array,
    absorb: Array,
    x0: Array,
    y0: Array,
    x1: Array,
    y1: Array,
    profile: Array,
    profile_t0: float,
    profile_scale: float,
    srgb_to_linear: Array,
    linear_to_srgb: Array,
) -> None:
    """Composite dots as pigment under the skin, in place on ``out`` (uint8 sRGB).

    Each tile gets a private buffer of per-channel transmittance factors, initialised to
    one; every dot meeting the tile multiplies ``1 - coverage * absorb[c]`` into it, where
    the coverage is the blurred-edge profile of the dot's normalised radius ``q`` (the
    ellipse is ``q <= 1``). Then only the pixels whose factor dropped below one go
    through sRGB -> linear (table), the multiplication and linear -> sRGB (table).
    Tiles are independent, so the result does not depend on the thread count.
    """
    rows, cols = out.shape[0], out.shape[1]
    n_tiles = starts.shape[0] - 1
    lut_last = profile.shape[0] - 1
    lin_scale = linear_to_srgb.shape[0] - 1
    for t in numba.prange(n_tiles):
        begin = starts[t]
        end = starts[t + 1]
        if end == begin:
            continue
        ty = t // tiles_x
        tx = t - ty * tiles_x
        r0 = ty * tile
        c0 = tx * tile
        r1 = min(r0 + tile, rows)
        c1 = min(c0 + tile, cols)
        buf = np.ones((r1 - r0, c1 - c0, 3), np.float32)
        for m in range(begin, end):
            i = members[m]
            a = conic[i, 0]
            b2 = 2.0 * conic[i, 1]
            c = conic[i, 2]
            qm2 = q_max[i] * q_max[i]
            k0 = absorb[i, 0]
            k1 = absorb[i, 1]
            k2 = absorb[i, 2]
            inv_s = inv_sigma_q[i]
            for r in range(max(y0[i], r0), min(y1[i] + 1, r1)):
                dy = r + 0.5 - cy[i]
                for col in range(max(x0[i], c0), min(x1[i] + 1, c1)):
                    dx = col + 0.5 - cx[i]
                    q2 = a * dx * dx + b2 * dx * dy + c * dy * dy
                    if q2 >= qm2:
                        continue
                    pos = ((math.sqrt(q2) - 1.0) * inv_s - profile_t0) * profile_scale
                    if pos <= 0.0:
                        cov = profile[0]
                    elif pos >= lut_last:
                        continue
                    else:
                        k = int(pos)
                        f = pos - k
                        cov = profile[k] + f * (profile[k + 1] - profile[k])
                    buf[r - r0, col - c0, 0] *= 1.0 - cov * k0
                    buf[r - r0, col - c0, 1] *= 1.0 - cov * k1
                    buf[r - r0, col - c0, 2] *= 1.0 - cov * k2
        for r in range(r0, r1):
            for col in range(c0, c1):
                f0 = buf[r - r0, col - c0, 0]
                f1 = buf[r - r0, col - c0, 1]
                f2 = buf[r - r0, col - c0, 2]
                if f0 < 1.0 or f1 < 1.0 or f2 < 1.0:
                    v0 = srgb_to_linear[out[r, col, 0]] * f0
                    v1 = srgb_to_linear[out[r, col, 1]] * f1
                    v2 = srgb_to_linear[out[r, col, 2]] * f2
                    out[r, col, 0] = linear_to_srgb[int(v0 * lin_scale + 0.5)]
                    out[r, col, 1] = linear_to_srgb[int(v1 * lin_scale + 0.5)]
                    out[r, col, 2] = linear_to_srgb[int(v2 * lin_scale + 0.5)]
