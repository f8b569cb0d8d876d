"""The samplers ours is measured against in ``bench/run.py``.

- :func:`floor_dart_throwing`: the least a blue-noise sampler can do, a minimal numba
  dart thrower: uniform density, one fixed radius, flat metric, a background grid of
  cells of side ``r / sqrt(2)`` holding at most one point each, two random numbers per
  candidate. No variable density, no surface metric, no existing points: what ours does
  beyond this is what it costs.
- :func:`scipy_poisson_disk`: ``scipy.stats.qmc.PoissonDisk`` as a competent user runs
  it (``ncandidates=8, hypersphere="surface"``: Bridson's faster variant, with fewer
  candidates per active point than the default 30).
- :func:`hdt_poisson_disk`: ``hdt-sampling``'s hierarchical dart throwing (White, Cline
  and Egbert 2007, in Rust), the fastest packaged 2-D sampler found on PyPI. It always
  fills the domain to a maximal set, so it is given the radius that yields the same
  number of points as the others (:func:`hdt_radius_for`).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray


@numba.njit(cache=True)
def _floor_kernel(width: float, height: float, r: float, n: int, seed: int) -> Any:
    np.random.seed(seed)
    cell = r / math.sqrt(2.0)
    gw = math.ceil(width / cell)
    gh = math.ceil(height / cell)
    grid = np.full(gw * gh, -1, np.int64)
    xs = np.empty(n, np.float64)
    ys = np.empty(n, np.float64)
    r2 = r * r
    count = 0
    tries = 0
    max_tries = 16 * (n + 100)
    while count < n and tries < max_tries:
        tries += 1
        x = np.random.random() * width
        y = np.random.random() * height
        gx = int(x / cell)
        gy = int(y / cell)
        if grid[gy * gw + gx] >= 0:
            continue
        ok = True
        for j in range(max(gy - 2, 0), min(gy + 3, gh)):
            for i in range(max(gx - 2, 0), min(gx + 3, gw)):
                k = grid[j * gw + i]
                if k >= 0:
                    dx = xs[k] - x
                    dy = ys[k] - y
                    if dx * dx + dy * dy < r2:
                        ok = False
                        break
            if not ok:
                break
        if ok:
            xs[count] = x
            ys[count] = y
            grid[gy * gw + gx] = count
            count += 1
    out = np.empty((count, 2), np.float64)
    out[:, 0] = xs[:count]
    out[:, 1] = ys[:count]
    return out


def floor_dart_throwing(
    width: float, height: float, r: float, n: int, seed: int
) -> NDArray[np.float64]:
    """Up to ``n`` uniform points in ``[0, width) x [0, height)``, none closer than ``r``."""
    return np.asarray(_floor_kernel(width, height, r, n, seed))


def scipy_poisson_disk(radius: float, n: int, seed: int) -> NDArray[np.float64]:
    """``n`` points in the unit square, none closer than ``radius`` (fewer if full)."""
    from scipy.stats import qmc

    engine = qmc.PoissonDisk(d=2, radius=radius, ncandidates=8, hypersphere="surface", seed=seed)
    return np.asarray(engine.random(n))


def hdt_poisson_disk(width: float, height: float, r: float, seed: int) -> NDArray[np.float64]:
    """A maximal Poisson-disk set in ``[0, width) x [0, height)`` with radius ``r``."""
    from hdt_sampling import HDTSampler

    return np.asarray(HDTSampler(width, height, r, seed=seed).generate(), dtype=np.float64)


def hdt_radius_for(width: float, height: float, n: int) -> float:
    """The HDT radius whose maximal set has about ``n`` points in the domain (measured:
    one trial run at a guess, then the radius scaled by the square root of the count
    ratio, since a maximal set's count goes as ``1 / r**2``)."""
    guess = math.sqrt(0.7 * width * height / n)
    count = len(hdt_poisson_disk(width, height, guess, seed=0))
    return guess * math.sqrt(count / n)
