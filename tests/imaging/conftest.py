"""Shared inputs for the imaging tests: astronaut, synthetic heads, one simulation each.

Everything expensive (MediaPipe, a full simulation) runs once per test session.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from pointillist.imaging.synthetic import SyntheticHead, synthetic_frontal, synthetic_top_view


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def astronaut_keypoints(astronaut):
    from pointillist.imaging.landmarks import detect_landmarks

    keypoints = detect_landmarks(astronaut)
    assert keypoints is not None
    return keypoints


@pytest.fixture(scope="session")
def top_head() -> SyntheticHead:
    """A small top view (0.6 mm/px) with a known bald area."""
    return synthetic_top_view(width=400, height=450, mm_per_px=0.6, seed=1)


@pytest.fixture(scope="session")
def front_head() -> SyntheticHead:
    return synthetic_frontal(width=420, height=540, mm_per_px=0.5, seed=1)


@pytest.fixture(scope="session")
def top_simulation(top_head):
    from pointillist.imaging.simulate import simulate

    return simulate(top_head.rgb, mm_per_px=top_head.mm_per_px, detect_face=False, seed=5)


@pytest.fixture(scope="session")
def front_simulation_parts(front_head):
    """Regions, treatment mask and share of the synthetic frontal head."""
    from pointillist.imaging.simulate import simulate

    sim = simulate(front_head.rgb, landmarks=front_head.keypoints, seed=1)
    return sim.regions, sim.treatment_mask, sim.treatment_share
