import numpy as np
from hiss import kernel, Array

# a degenerate region (no rows) and one with no columns, as a ROI list may hold
ROIS = ((0, 2, 1, 3), (2, 2, 0, 4), (1, 3, 5, 5), (3, 6, 0, 6))


@kernel
def empties(frame: Array[np.uint16, 6, 8]) -> tuple[np.uint64, np.int64, np.bool_, np.bool_, np.int64]:
    """Empty slices are numpy's empty arrays: their sums are 0, `any` False,
    `all` True, their shapes and sizes count, and arithmetic keeps them empty."""
    total = frame[:, 3:3].sum() + frame[7:].sum()
    for r0, r1, c0, c1 in ROIS:
        total = total + frame[r0:r1, c0:c1].sum()
    none = frame[4:2]
    hits = np.count_nonzero(none > 3) + np.count_nonzero(frame > 1000)
    some = (frame[:, 8:] + 1).astype(np.int32).any() | (frame.max() > 60000)
    every = np.all(-none.astype(np.int16) > 0) & (frame.min() < 100)
    sizes = np.int64(none.size + len(none) + none.shape[1]) + frame.astype(np.int64).sum()
    return total, hits, some, every, sizes
