import numpy as np
from hiss import kernel, Array

# regions of interest as a notebook keeps them: (row0, row1, col0, col1)
ROIS = [(0, 2, 1, 3), (1, 4, 0, 2), (3, 6, 4, 8)]
WEIGHTS = (1, 3, 2)
LEVELS = np.array([100, 900], dtype=np.uint16)
THRESH = 2.5


@kernel
def rois(frame: Array[np.uint16, 6, 8]) -> tuple[np.uint64, np.int64, np.int64, np.uint64, Array[np.int32, 6, 8]]:
    """Loops over a constant list of tuples, with `enumerate` and `zip`, and
    over a constant table's elements and an array's rows (views: a write
    through a row writes into the array)."""
    total = np.uint64(0)
    for i, (r0, r1, c0, c1) in enumerate(ROIS):
        total = total + frame[r0:r1, c0:c1].sum() * np.uint64(i + 1)
    weighted = np.int64(0)
    for w, roi in zip(WEIGHTS, ROIS):
        weighted = weighted + np.int64(w) * np.count_nonzero(frame[roi[0]:roi[1], roi[2]:roi[3]] > THRESH)
    hits = np.int64(0)
    for level in LEVELS:
        hits = hits + np.count_nonzero(frame > level)
    peaks = np.uint64(0)
    for row in frame[:3]:
        peaks = peaks + row.max()
    img = frame.astype(np.int32)
    for r, row in enumerate(img):
        row -= 7 * r
    return total, weighted, hits, peaks, img
