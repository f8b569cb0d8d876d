import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pointillist.imaging.grid import all_in_blocks


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
