import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pointillist.imaging.grid import all_in_blocks, mask_on_grid


@settings(max_examples=40, deadline=None)
@given(
    factor=st.integers(1, 5),
    rows=st.integers(1, 7),
    cols=st.integers(1, 7),
    extra=st.integers(0, 4),
    seed=st.integers(0, 2**16),
)
def test_all_in_blocks_is_the_blockwise_all(factor, rows, cols, extra, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((rows * factor + extra, cols * factor + extra)) < 0.9
    blocks = mask[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    np.testing.assert_array_equal(
        all_in_blocks(mask, factor, (rows, cols)), blocks.all(axis=(1, 3))
    )


@settings(max_examples=40, deadline=None)
@given(
    factor=st.integers(2, 6),
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    seed=st.integers(0, 2**16),
)
def test_mask_on_grid_keeps_the_cells_at_least_half_covered(factor, rows, cols, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((rows * factor, cols * factor)) < rng.uniform(0.2, 0.8)
    # One cell exactly half covered: it counts as covered.
    mask[:factor, :factor] = False
    mask[: factor * factor // 2 // factor, :factor] = True
    if factor % 2:
        mask[:factor, :factor] = np.arange(factor * factor).reshape(factor, factor) % 2 == 0
    share = mask.reshape(rows, factor, cols, factor).mean(axis=(1, 3))
    np.testing.assert_array_equal(mask_on_grid(mask, (rows, cols)), share >= 0.5)
