"""The brightest row written as a loop (issue 10, item 12): 64 row sums share
one axis reduction and the chain of maxima becomes one reduction, the same
hardware as `frame.sum(axis=1).max()` instead of 64 reductions and the delay
lines between them."""
import numpy as np
from hiss import kernel, Array


@kernel
def row_loop(frame: Array[np.uint16, 64, 32]) -> tuple[np.uint64, np.uint64, np.bool_]:
    best = frame[0].sum()
    low = frame[0].max()
    for i in range(1, 64):
        best = np.maximum(best, frame[i].sum())
        low = np.minimum(low, frame[i].max())
    hot = frame[0, 4:8].sum() > 100
    for i in range(2, 64, 2):
        hot = hot | (frame[i, 4:8].sum() > 100)
    return best, low.astype(np.uint64), hot
