"""Region-of-interest statistics.

Three regions of interest, given as labels 1-3 (0 is background, e.g. drawn on
a mask in the beamline GUI): per region the sum of the signal, the sum of its
squares and the pixel count (float64, float64, int64 per label: numpy's
weighted and plain ``np.bincount``; index 0 is the background), and each
region's maximum. Mean and variance follow on the host.

For: any detector; beam-position and intensity monitoring, fluorescence ROIs.
"""

import numpy as np
from hiss import kernel, Array, u2

H, W = 16, 32


@kernel
def roi_stats(frame: Array[np.uint16, H, W], labels: Array[u2, H, W]
              ) -> tuple[Array[np.float64, 4], Array[np.float64, 4], Array[np.int64, 4],
                         np.uint16, np.uint16, np.uint16]:
    lab = labels.ravel()
    f = frame.ravel()
    sums = np.bincount(lab, weights=f, minlength=4)
    squares = np.bincount(lab, weights=f.astype(np.uint32) * f, minlength=4)  # < 2**32
    counts = np.bincount(lab, minlength=4)
    m1 = np.where(labels == 1, frame, 0).max()
    m2 = np.where(labels == 2, frame, 0).max()
    m3 = np.where(labels == 3, frame, 0).max()
    return sums, squares, counts, m1, m2, m3
