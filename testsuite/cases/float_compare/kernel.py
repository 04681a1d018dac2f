"""Comparisons with module-level float constants (issue 10, item 2): numpy
compares in float64, exact for these integers, so each is an integer comparison."""
import numpy as np
from hiss import kernel, Array

THRESH = 2.5
LOW = -3.0
HIGH = 1e400  # inf
EXACT = 7.0


@kernel
def float_compare(frame: Array[np.int16, 8, 16], t: np.uint8) -> tuple[np.int64, np.int64, Array[np.bool_, 8, 16], np.bool_, np.int64]:
    a = np.count_nonzero(frame > THRESH)
    b = np.count_nonzero((frame <= LOW) | (frame == EXACT))
    c = frame < HIGH
    d = np.count_nonzero(frame + t >= THRESH) > 0
    e = np.count_nonzero((frame != -THRESH) & (2.5 < frame)) + (3 > THRESH)
    return a, b, c, d, e
