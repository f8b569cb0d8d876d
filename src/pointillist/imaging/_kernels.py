"""Numba kernels behind the sampler and the renderer (private; no validation here).

The public, typed wrappers live in :mod:`pointillist.imaging.sampling` and
:mod:`pointillist.imaging.render`; they check inputs and choose parameters, and call the
kernels through :mod:`pointillist.imaging.kernels`, which runs this source either
compiled ahead of time (``make install``; :mod:`pointillist.imaging._kernels_build`) or
by numba's JIT, each kernel compiled once and cached on disk (``cache=True``). So a
change here needs ``make install`` again for the ahead-of-time build to be used.

Conventions: images are indexed ``[row, col]``; a point ``(x, y)`` is in pixel units with
pixel ``(row, col)`` covering ``[col, col + 1) x [row, row + 1)``. A surface metric is a
``(Hm, Wm, 3)`` array of ``(g11, g12, g22)``; ``Hm == 1`` means one metric for the whole
image (a flat photo).
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

# numba's OpenMP workers spin for a while after each parallel kernel, waiting for the
# next; a preview calls a few short kernels between long stretches of other work, so
# the spinning only burns a core that decoding and encoding the photo need (the render
# stage's CPU time fell by a third with passive waiting, on a busy 2-core machine). A
# user's own setting wins. It must be set before the OpenMP runtime loads, which is at
# the first parallel call.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba
import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]


def _load_numba_lowering() -> None:
    """Import numba's array lowering without its BLAS probe.

    The first kernel loaded in a process imports ``numba.np.arraymath``, which probes
    for a BLAS by importing ``scipy.linalg`` (0.3 s of CPU, a third of a preview's
    start-up on a small machine), only to choose how ``np.correlate`` and ``np.convolve``
    are compiled; these kernels use neither. The probe is answered "no BLAS" by hiding
    the module it imports while ``arraymath`` loads, and the module is unhidden at once,
    so SciPy imports normally for anything else in the process.
    """
    probe = "scipy.linalg.cython_blas"
    if "numba.np.arraymath" in sys.modules or probe in sys.modules:
        return
    sys.modules[probe] = None  # type: ignore[assignment]
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(probe, 0) is None:
            del sys.modules[probe]


_load_numba_lowering()

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


@numba.njit(cache=True, inline="always")
def _reach_px(radius_mm: float, g11: float, g12: float, g22: float) -> float:
    """The longest pixel step of surface length ``radius_mm`` under the metric: along
    the eigenvector of its smallest eigenvalue."""
    return radius_mm / math.sqrt(_smallest_eigenvalue(g11, g12, g22))


SAMPLING_TILE = 16
"""Side in pixels of the tiles that bound the candidate density (see :func:`blue_noise`)."""


@numba.njit(cache=True, inline="always")
def _has_neighbour_within(
    x: float,
    y: float,
    g11: float,
    g12: float,
    g22: float,
    radius_mm: float,
    radius_px: float,
    xs: Array,
    ys: Array,
    head: Array,
    nxt: Array,
    inv_cell: float,
    grid_rows: int,
    grid_cols: int,
) -> bool:
    """Whether a point already in the grid lies closer than ``radius_mm`` to ``(x, y)``,
    measured with the surface metric ``(g11, g12, g22)`` at ``(x, y)``; ``radius_px``
    is the longest pixel reach of that radius (:func:`_reach_px`)."""
    radius2 = radius_mm * radius_mm
    # The candidate's own cell first: a neighbour too close is most often there, and
    # near the target count most candidates are refused (12 % faster, measured). The
    # list walk below is written out twice on purpose: as one helper, even inlined by
    # numba, the sampler ran 2.2 times slower (make bench, sampler_vs_floor).
    cx = min(max(int(x * inv_cell), 0), grid_cols - 1)
    cy = min(max(int(y * inv_cell), 0), grid_rows - 1)
    j = head[cy * grid_cols + cx]
    while j >= 0:
        dx = xs[j] - x
        dy = ys[j] - y
        if g11 * dx * dx + 2.0 * g12 * dx * dy + g22 * dy * dy < radius2:
            return True
        j = nxt[j]
    gx0 = max(int((x - radius_px) * inv_cell), 0)
    gx1 = min(int((x + radius_px) * inv_cell), grid_cols - 1)
    gy0 = max(int((y - radius_px) * inv_cell), 0)
    gy1 = min(int((y + radius_px) * inv_cell), grid_rows - 1)
    for gy in range(gy0, gy1 + 1):
        for gx in range(gx0, gx1 + 1):
            if gx == cx and gy == cy:
                continue
            j = head[gy * grid_cols + gx]
            while j >= 0:
                dx = xs[j] - x
                dy = ys[j] - y
                if g11 * dx * dx + 2.0 * g12 * dx * dy + g22 * dy * dy < radius2:
                    return True
                j = nxt[j]
    return False


@numba.njit(cache=True, inline="always")
def _measure_tile_row(
    ty: int,
    density: Array,
    metric: Array,
    r_factor: float,
    floor_density: float,
    tile_max: Array,
    tile_density: Array,
) -> tuple[float, float, float]:
    """``kernels.surface_measure`` over one row of tiles: fills that row of ``tile_max``
    and ``tile_density``; returns the row's expected count, area and smallest radius."""
    rows, cols = density.shape
    tile = SAMPLING_TILE
    flat = metric.shape[0] == 1
    # A flat photo has one metric: its area and reach are worked out once, not per pixel.
    flat_area = math.sqrt(max(metric[0, 0, 0] * metric[0, 0, 2] - metric[0, 0, 1] ** 2, 0.0))
    flat_lam = _smallest_eigenvalue(metric[0, 0, 0], metric[0, 0, 1], metric[0, 0, 2])
    expected = 0.0
    area = 0.0
    min_radius_px = np.inf
    r0 = ty * tile
    r1 = min(r0 + tile, rows)
    for tx in range(tile_max.shape[1]):
        c0 = tx * tile
        c1 = min(c0 + tile, cols)
        first = density[r0, c0]
        uniform = True
        t_max = 0.0
        if flat:
            # Branch-free sums over the tile (negative densities were refused before).
            n_sum = 0.0
            n_positive = 0
            n_max = 0.0
            for r in range(r0, r1):
                for c in range(c0, c1):
                    n = density[r, c]
                    uniform &= n == first
                    n_sum += n
                    n_positive += n > 0.0
                    n_max = max(n_max, n)
            expected += n_sum * flat_area
            area += n_positive * flat_area
            if n_max > 0.0:
                t_max = n_max * flat_area
                if flat_lam > 0.0:
                    radius_mm = r_factor / math.sqrt(max(n_max, floor_density))
                    min_radius_px = min(min_radius_px, radius_mm / math.sqrt(flat_lam))
                else:
                    min_radius_px = -np.inf
        else:
            for r in range(r0, r1):
                for c in range(c0, c1):
                    n = density[r, c]
                    uniform &= n == first
                    if n <= 0.0:
                        continue
                    g11, g12, g22 = metric[r, c, 0], metric[r, c, 1], metric[r, c, 2]
                    pixel_area = math.sqrt(max(g11 * g22 - g12 * g12, 0.0))
                    weight = n * pixel_area
                    expected += weight
                    area += pixel_area
                    t_max = max(t_max, weight)
                    lam = _smallest_eigenvalue(g11, g12, g22)
                    if lam > 0.0:
                        radius_mm = r_factor / math.sqrt(max(n, floor_density))
                        min_radius_px = min(min_radius_px, radius_mm / math.sqrt(lam))
                    else:
                        # not positive definite (or not finite): no distance can be measured
                        min_radius_px = -np.inf
        tile_max[ty, tx] = t_max
        tile_density[ty, tx] = first if uniform else -1.0
    return expected, area, min_radius_px


@numba.njit(cache=True, parallel=True)
def _measure_field(
    density: Array, metric: Array, r_factor: float, floor_density: float
) -> tuple[float, float, float, Array, Array]:
    tiles_y = (density.shape[0] + SAMPLING_TILE - 1) // SAMPLING_TILE
    tiles_x = (density.shape[1] + SAMPLING_TILE - 1) // SAMPLING_TILE
    tile_max = np.zeros((tiles_y, tiles_x), np.float64)
    tile_density = np.empty((tiles_y, tiles_x), np.float64)
    row_expected = np.zeros(tiles_y, np.float64)
    row_area = np.zeros(tiles_y, np.float64)
    row_radius = np.full(tiles_y, np.inf)
    for ty in numba.prange(tiles_y):
        row_expected[ty], row_area[ty], row_radius[ty] = _measure_tile_row(
            ty, density, metric, r_factor, floor_density, tile_max, tile_density
        )
    # Summed in order, not with `.sum()`, which a parallel kernel turns into a parallel
    # reduction: its rounding would differ from the single-threaded build's, and the
    # expected count (rounded to a number of dots) with it.
    expected = 0.0
    area = 0.0
    for ty in range(tiles_y):
        expected += row_expected[ty]
        area += row_area[ty]
    return expected, area, row_radius.min(), tile_max, tile_density


@numba.njit(cache=True)
def _measure_flat(
    density: Array, metric: Array, r_factor: float, floor_density: float
) -> tuple[float, float, float, Array, Array]:
    tiles_y = (density.shape[0] + SAMPLING_TILE - 1) // SAMPLING_TILE
    tiles_x = (density.shape[1] + SAMPLING_TILE - 1) // SAMPLING_TILE
    tile_max = np.zeros((tiles_y, tiles_x), np.float64)
    tile_density = np.empty((tiles_y, tiles_x), np.float64)
    expected = 0.0
    area = 0.0
    min_radius_px = np.inf
    for ty in range(tiles_y):
        e, a, r = _measure_tile_row(
            ty, density, metric, r_factor, floor_density, tile_max, tile_density
        )
        expected += e
        area += a
        min_radius_px = min(min_radius_px, r)
    return expected, area, min_radius_px, tile_max, tile_density


@numba.njit(cache=True)
def _alias_table(p: Array) -> tuple[Array, Array]:
    """Walker/Vose alias table of the probabilities ``p`` (summing to one)."""
    n = p.shape[0]
    keep = p * n
    alias = np.arange(n).astype(np.int64)
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    ns = 0
    nl = 0
    for i in range(n):
        if keep[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        alias[s] = g
        keep[g] -= 1.0 - keep[s]
        if keep[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for i in range(nl):
        keep[large[i]] = 1.0
    for i in range(ns):
        keep[small[i]] = 1.0
    return keep, alias


@numba.njit(cache=True)
def blue_noise(
    density: Array,
    metric: Array,
    existing: Array,
    n_new: int,
    max_candidates: int,
    r_factor: float,
    floor_density: float,
    cell_px: float,
    tile_max: Array,
    tile_density: Array,
    density_scale: float,
    seed: int,
) -> Array:
    """Dart throwing with a variable, metric-measured minimum distance.

    Candidates are drawn one at a time, independently, with a probability proportional
    to ``density * pixel surface area``: a tile is chosen in proportion to the bound
    ``tile_max * pixels`` (Walker's alias method), a point uniformly inside
    it, and the point is kept with probability ``weight / tile_max``. Each candidate is
    accepted if no point (existing or accepted) lies within its own minimum distance
    ``r_factor / sqrt(max(n, floor))``, measured in mm with the surface metric at the
    candidate. The target density is
    ``density * density_scale`` (``floor_density`` is given in target units;
    ``tile_max`` and ``tile_density`` in map units, as ``kernels.surface_measure`` returns
    them). Stops after ``n_new`` acceptances or ``max_candidates`` candidates.
    Returns the new points only, in the order they were accepted.
    """
    np.random.seed(seed)
    rows, cols = density.shape
    tile = SAMPLING_TILE
    tiles_y, tiles_x = tile_max.shape
    n_tiles = tiles_y * tiles_x
    bound = np.empty(n_tiles, np.float64)
    acc = 0.0
    for ty in range(tiles_y):
        th = min(tile, rows - ty * tile)
        for tx in range(tiles_x):
            tw = min(tile, cols - tx * tile)
            bound[ty * tiles_x + tx] = tile_max[ty, tx] * th * tw
            acc += bound[ty * tiles_x + tx]
    if acc <= 0.0:
        return np.empty((0, 2), np.float64)
    keep, alias = _alias_table(bound / acc)
    flat = metric.shape[0] == 1
    f11, f12, f22 = metric[0, 0, 0], metric[0, 0, 1], metric[0, 0, 2]
    flat_area = math.sqrt(max(f11 * f22 - f12 * f12, 0.0))
    flat_reach = _reach_px(1.0, f11, f12, f22)
    # The minimum distance of each tile of one density, worked out once (-1: not uniform).
    tile_radius = np.full((tiles_y, tiles_x), -1.0)
    for ty in range(tiles_y):
        for tx in range(tiles_x):
            if tile_density[ty, tx] > 0.0:
                n = tile_density[ty, tx] * density_scale
                tile_radius[ty, tx] = r_factor / math.sqrt(max(n, floor_density))
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
    candidates = 0
    while count - n_old < n_new and candidates < max_candidates:
        u = np.random.random() * n_tiles
        t = min(int(u), n_tiles - 1)
        if u - t >= keep[t]:
            t = alias[t]
        ty = t // tiles_x
        tx = t - ty * tiles_x
        th = min(tile, rows - ty * tile)
        tw = min(tile, cols - tx * tile)
        x = tx * tile + np.random.random() * tw
        y = ty * tile + np.random.random() * th
        col = min(int(x), cols - 1)
        row = min(int(y), rows - 1)
        # Inside a tile of one density the map is not read: on a large map that random
        # read misses the cache, and it cost more than the rest of the candidate.
        n = tile_density[ty, tx]
        if n < 0.0:
            n = density[row, col]
        if n <= 0.0:
            continue
        if flat:
            g11, g12, g22 = f11, f12, f22
            weight = n * flat_area
        else:
            g11, g12, g22 = metric[row, col, 0], metric[row, col, 1], metric[row, col, 2]
            weight = n * math.sqrt(max(g11 * g22 - g12 * g12, 0.0))
        if np.random.random() * tile_max[ty, tx] >= weight:
            continue
        candidates += 1
        radius_mm = tile_radius[ty, tx]
        if radius_mm < 0.0:
            radius_mm = r_factor / math.sqrt(max(n * density_scale, floor_density))
        reach = radius_mm * flat_reach if flat else _reach_px(radius_mm, g11, g12, g22)
        if _has_neighbour_within(
            x,
            y,
            g11,
            g12,
            g22,
            radius_mm,
            reach,
            px,
            py,
            head,
            nxt,
            inv_cell,
            grid_rows,
            grid_cols,
        ):
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


@numba.njit(cache=True)
def assign_layers(
    points: Array,
    density: Array,
    metric: Array,
    fractions: Array,
    targets: Array,
    r_factor: float,
    floor_density: float,
    cell_px: float,
) -> Array:
    """Session of each point of a full-density pattern, layered from sparse to full.

    ``points`` (in random order) is the final pattern. Layer ``k`` (0-based) keeps every
    point of the layers before it and adds points of the pattern, in order, that lie at
    least ``r_factor / sqrt(max(fractions[k] * n, fractions[k] * floor_density))`` mm
    (metric at the added point) from every point kept so far, until the layer holds
    ``targets[k]`` points; if the pattern runs out of such points first, the next points
    in order make up the count. The last layer takes every remaining point. Returns the
    1-based layer of each point.
    """
    rows, cols = density.shape
    n = points.shape[0]
    n_layers = fractions.shape[0]
    layer = np.full(n, n_layers, np.int16)
    grid_cols = math.ceil(cols / cell_px) + 1
    grid_rows = math.ceil(rows / cell_px) + 1
    head = np.full(grid_rows * grid_cols, -1, np.int32)
    nxt = np.empty(n, np.int32)
    inv_cell = 1.0 / cell_px
    xs = points[:, 0]
    ys = points[:, 1]
    kept = 0
    for k in range(n_layers - 1):
        scale = fractions[k]
        target = min(targets[k], n)
        for i in range(n):
            if kept >= target:
                break
            if layer[i] != n_layers:
                continue
            x = points[i, 0]
            y = points[i, 1]
            col = min(max(int(x), 0), cols - 1)
            row = min(max(int(y), 0), rows - 1)
            g11, g12, g22 = _metric_at(metric, row, col)
            radius_mm = r_factor / math.sqrt(max(density[row, col], floor_density) * scale)
            reach = _reach_px(radius_mm, g11, g12, g22)
            if _has_neighbour_within(
                x,
                y,
                g11,
                g12,
                g22,
                radius_mm,
                reach,
                xs,
                ys,
                head,
                nxt,
                inv_cell,
                grid_rows,
                grid_cols,
            ):
                continue
            layer[i] = k + 1
            cell = min(max(int(y * inv_cell), 0), grid_rows - 1) * grid_cols + min(
                max(int(x * inv_cell), 0), grid_cols - 1
            )
            nxt[i] = head[cell]
            head[cell] = i
            kept += 1
        for i in range(n):
            if kept >= target:
                break
            if layer[i] == n_layers:
                layer[i] = k + 1
                x = points[i, 0]
                y = points[i, 1]
                cell = min(max(int(y * inv_cell), 0), grid_rows - 1) * grid_cols + min(
                    max(int(x * inv_cell), 0), grid_cols - 1
                )
                nxt[i] = head[cell]
                head[cell] = i
                kept += 1
    return layer


# ---------------------------------------------------------------------------------------
# Rendering


# Per-dot parameters for :func:`composite_layers`, one float32 row each.
DOT_CX, DOT_CY, DOT_A, DOT_2B, DOT_C, DOT_INV_SIGMA, DOT_Q2_MAX, DOT_STRENGTH, DOT_LAYER = range(9)
DOT_FIELDS = 9


@numba.njit(cache=True, inline="always")
def _footprint_area(sigma: float, edge_half_width: float) -> float:
    """Integrated coverage over the outline's area (``pointillist.color.look.footprint_area``)."""
    if sigma < 1e-6:
        return 1.0
    beta = 1.0 / (2.0 * edge_half_width * sigma)
    alpha = 0.5 + beta
    m = min(alpha, 1.0)
    q1 = max(alpha - 1.0, 0.0) / beta
    tail = alpha * (m**3 - 0.5 * m**4) - 0.75 * m**4 + 0.4 * m**5
    return q1 * q1 + 2.0 * tail / (beta * beta)


@numba.njit(cache=True, parallel=True)
def prepare_dots(
    xy: Array,
    semi_axes: Array,
    angle: Array,
    diameter_mm: Array,
    shade: Array,
    opacity: Array,
    layer: Array,
    mean_log_ratio: float,
    coverage: float,
    blur_mm: float,
    aa_px: float,
    edge_half_width: float,
    rows: int,
    cols: int,
) -> tuple[Array, Array]:
    """Conic, blur, absorption and pixel bounding box of every dot.

    The dot's normalised radius is ``q = sqrt(A dx^2 + 2B dx dy + C dy^2)`` (``q <= 1`` is
    the outline); the blur, in units of ``q``, combines the halo (relative to the dot's
    radius in mm) and the anti-aliasing sigma (relative to its mean radius in px).
    Coverage reaches zero at ``q = 1 + edge_half_width * sigma``. The anti-aliasing only
    spreads a dot's ink: its strength is scaled by the footprint area with the halo alone
    over that with both blurs, so a dot smaller than a pixel darkens the pixels around it
    by its area times its darkness, at any resolution. Bounding boxes are inclusive
    pixel ranges clipped to the image; an empty one has ``x1 < x0``. ``layer`` (0-based,
    non-decreasing) is the first output image a dot appears in (its session).
    """
    n = xy.shape[0]
    params = np.empty((n, DOT_FIELDS), np.float32)
    box = np.empty((n, 4), np.int64)
    for i in numba.prange(n):
        a = semi_axes[i, 0]
        b = semi_axes[i, 1]
        ct = math.cos(angle[i])
        st = math.sin(angle[i])
        inv_a2 = 1.0 / (a * a)
        inv_b2 = 1.0 / (b * b)
        radius_mm = 0.5 * diameter_mm[i]
        rel_blur = blur_mm / radius_mm
        sigma = math.sqrt(rel_blur * rel_blur + aa_px * aa_px / (a * b))
        keep_ink = _footprint_area(rel_blur, edge_half_width) / _footprint_area(
            sigma, edge_half_width
        )
        q_max = 1.0 + edge_half_width * sigma
        cx = xy[i, 0]
        cy = xy[i, 1]
        params[i, DOT_CX] = cx
        params[i, DOT_CY] = cy
        params[i, DOT_A] = ct * ct * inv_a2 + st * st * inv_b2
        params[i, DOT_2B] = 2.0 * ct * st * (inv_a2 - inv_b2)
        params[i, DOT_C] = st * st * inv_a2 + ct * ct * inv_b2
        params[i, DOT_INV_SIGMA] = 1.0 / sigma
        params[i, DOT_Q2_MAX] = q_max * q_max
        # Darkening relative to a nominal dot: shade is an exponent on the ratio.
        nominal = 1.0 - math.exp(mean_log_ratio)
        params[i, DOT_STRENGTH] = (
            coverage * keep_ink * opacity[i] * (1.0 - math.exp(shade[i] * mean_log_ratio)) / nominal
        )
        params[i, DOT_LAYER] = layer[i]
        half_x = q_max * math.sqrt(a * a * ct * ct + b * b * st * st)
        half_y = q_max * math.sqrt(a * a * st * st + b * b * ct * ct)
        box[i, 0] = min(max(math.ceil(cx - half_x - 0.5), 0), cols)
        box[i, 1] = min(max(math.ceil(cy - half_y - 0.5), 0), rows)
        box[i, 2] = min(max(math.floor(cx + half_x - 0.5), -1), cols - 1)
        box[i, 3] = min(max(math.floor(cy + half_y - 0.5), -1), rows - 1)
    return params, box


@numba.njit(cache=True, parallel=True)
def strip_index(params: Array, box: Array, strip_rows: int, n_strips: int) -> tuple[Array, Array]:
    """Dots grouped by the horizontal strips their bounding box meets.

    Returns CSR ``starts`` and a copy of the dots' parameter rows in that order (a dot
    meeting two strips appears twice), so that the compositing kernel reads them in
    memory order.
    """
    n = box.shape[0]
    starts = np.zeros(n_strips + 1, np.int64)
    for i in range(n):
        if box[i, 2] >= box[i, 0] and box[i, 3] >= box[i, 1]:
            for s in range(box[i, 1] // strip_rows, box[i, 3] // strip_rows + 1):
                starts[s + 1] += 1
    for s in range(n_strips):
        starts[s + 1] += starts[s]
    fill = starts[:-1].copy()
    member = np.empty(starts[n_strips], np.int64)
    for i in range(n):
        if box[i, 2] >= box[i, 0] and box[i, 3] >= box[i, 1]:
            for s in range(box[i, 1] // strip_rows, box[i, 3] // strip_rows + 1):
                member[fill[s]] = i
                fill[s] += 1
    n_fields = params.shape[1]
    rows = np.empty((member.shape[0], n_fields), np.float32)
    for j in numba.prange(member.shape[0]):
        for f in range(n_fields):
            rows[j, f] = params[member[j], f]
    return starts, rows


DOT_LANES = 16
"""Pixels of a row a dot's coverage is computed for at once (see :func:`composite_layers`)."""


# No fastmath: the ahead-of-time build cannot have it (pycc compiles every kernel with
# the same flags), and the two builds must draw the same pixels.
@numba.njit(cache=True, parallel=True)
def composite_layers(
    image: Array,
    out: Array,
    starts: Array,
    params: Array,
    strip_rows: int,
    block_cols: int,
    edge_half_width: float,
    tone: Array,
    n_workers: int,
) -> None:
    """Write ``image`` with the dots composited under the skin into ``out`` (uint8 sRGB).

    ``out`` is ``(K, H, W, 3)``: image ``k`` holds every dot of layer ``k`` or lower
    (cumulative sessions; ``K = 1`` for one image). Each strip's dots (in ``params``,
    grouped by :func:`strip_index`) come in layer order, so one pass over them serves
    every image: a dot's coverage is computed once, however many images show it.

    The image is processed in horizontal strips, dealt round-robin to ``n_workers``
    workers, each with its own buffer of bare-skin fractions ``T`` (all ones between
    uses). Every dot meeting the strip subtracts ``coverage * strength`` from it (the
    pigmented shares of a pixel add up, and ``T`` is clamped at 0 when read); coverage
    is a cubic smoothstep of the dot's normalised radius ``q`` falling from 1 to 0 over
    ``q = 1 -+ edge_half_width * sigma``, and a dot only changes the pixels of its
    bounding box where ``q^2`` is below its ``DOT_Q2_MAX``. When a layer's dots are in,
    the strip is written into that layer's image row by row (so memory is streamed):
    each row is copied, then every block of ``block_cols`` pixels (a power of two) that
    a dot reached is looked up in ``tone[channel, round(255 T), level]``, the sRGB level
    of the pixel with its pigment (``tone[:, 255]`` must map every level to itself: a
    pixel of the block no dot reached keeps ``T = 1``, so its level); after the last
    layer the buffer is reset to ones. Strips are independent, so the result does not
    depend on the number of workers.
    """
    n_layers = out.shape[0]
    rows, cols = image.shape[0], image.shape[1]
    row_bytes = 3 * cols
    # Row views of the same memory: copying a row as one flat run vectorises.
    image_rows = image.reshape(rows, row_bytes)
    out_rows = out.reshape(n_layers, rows, row_bytes)
    n_strips = starts.shape[0] - 1
    shift = 0
    while (1 << shift) < block_cols:
        shift += 1
    block = 1 << shift
    n_blocks = (cols + block - 1) >> shift
    t_scale = np.float32(tone.shape[1] - 1)
    half = np.float32(0.5)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    slope_scale = np.float32(0.5 / edge_half_width)
    levels = np.uint64(tone.shape[2])
    tone_r = tone[0].ravel()
    tone_g = tone[1].ravel()
    tone_b = tone[2].ravel()
    lanes = DOT_LANES
    # Rows padded by one run of lanes: a run that starts near the right edge stays inside.
    buffers = np.ones((n_workers, strip_rows, cols + lanes), np.float32)
    reached = np.zeros((n_workers, strip_rows, n_blocks), np.uint8)
    for w in numba.prange(n_workers):
        buf = buffers[w]
        reached_w = reached[w]
        # Strips dealt round-robin: dots cluster (a head in a photo), so contiguous
        # halves of the image would leave one worker idle.
        for s in range(w, n_strips, n_workers):
            r0 = s * strip_rows
            sh = min(strip_rows, rows - r0)
            i = starts[s]
            end = starts[s + 1]
            for k in range(n_layers):
                while i < end and params[i, DOT_LAYER] <= k:
                    cx = params[i, DOT_CX] - half
                    cy = params[i, DOT_CY] - np.float32(r0) - half
                    a = params[i, DOT_A]
                    b2 = params[i, DOT_2B]
                    c = params[i, DOT_C]
                    qm2 = params[i, DOT_Q2_MAX]
                    # coverage = smoothstep(u), u = clamp(0.5 - (q - 1) * inv_sigma / (2 T))
                    slope = params[i, DOT_INV_SIGMA] * slope_scale
                    u0 = half + slope
                    strength = params[i, DOT_STRENGTH]
                    i += 1
                    # Rows and columns the ellipse q^2 < qm2 reaches: |dy| < sqrt(qm2 A / det),
                    # |dx| < sqrt(qm2 C / det).
                    det = a * c - np.float32(0.25) * b2 * b2
                    reach_y = math.sqrt(qm2 * a / det)
                    lo_y = cy - reach_y
                    ra = 0 if lo_y <= zero else int(lo_y) + 1
                    rb = min(int(cy + reach_y), sh - 1)
                    reach_x = math.sqrt(qm2 * c / det)
                    lo_x = cx - reach_x
                    ca = 0 if lo_x <= zero else int(lo_x)
                    hi_x = cx + reach_x
                    cb = min(int(hi_x) if hi_x >= zero else -1, cols - 1)
                    if cb < ca:
                        continue
                    # Each row of the dot's box in runs of a fixed number of lanes, the
                    # pixels past the box or outside the ellipse kept as they were: a loop
                    # of known length, free of branches, is vectorised (a dot's row is a
                    # dozen pixels at 0.1 mm/px, too short for a loop of its own length
                    # to be), and no span is solved per row (the render took 45 % less
                    # time). Coverage is exactly zero beyond q^2 = qm2.
                    for r in range(ra, rb + 1):
                        for blk in range(ca >> shift, (cb >> shift) + 1):
                            reached_w[r, blk] = 1
                        dy = np.float32(r) - cy
                        cdy = c * dy * dy
                        bdy = b2 * dy
                        buf_row = buf[r]
                        x0 = ca
                        while x0 <= cb:
                            run = buf_row[x0 : x0 + lanes]
                            last_lane = cb - x0
                            for j in range(lanes):
                                dx = np.float32(x0 + j) - cx
                                q2 = (a * dx + bdy) * dx + cdy
                                q = math.sqrt(max(q2, zero))
                                u = min(max(u0 - q * slope, zero), one)
                                cov = u * u * (np.float32(3.0) - np.float32(2.0) * u)
                                darker = run[j] - cov * strength
                                inside = j <= last_lane and q2 < qm2
                                run[j] = darker if inside else run[j]
                            x0 += lanes
                last = k == n_layers - 1
                for r in range(sh):
                    y = r0 + r
                    dst = out_rows[k, y]
                    src = image_rows[y]
                    buf_row = buf[r]
                    for j in range(row_bytes):
                        dst[j] = src[j]
                    for blk in range(n_blocks):
                        if reached_w[r, blk] == 0:
                            continue
                        base = blk << shift
                        stop = min(base + block, cols)
                        # Unsigned indices: numba adds no wrap-around of negative ones
                        # (a third of this loop's time).
                        p = np.uint64(3 * base)
                        for x in range(base, stop):
                            t = np.uint64(max(buf_row[x], zero) * t_scale + half) * levels
                            dst[p] = tone_r[t + src[p]]
                            dst[p + np.uint64(1)] = tone_g[t + src[p + np.uint64(1)]]
                            dst[p + np.uint64(2)] = tone_b[t + src[p + np.uint64(2)]]
                            p += np.uint64(3)
                        if last:
                            for x in range(base, stop):
                                buf_row[x] = one
                            reached_w[r, blk] = 0
