"""Slice bounds from loop variables, locals, helper arguments and shapes
(issue 10, item 6): compile-time integers after unrolling and inlining."""
import numpy as np
from hiss import kernel, Array


def roi(frame, y0, y1, x0, x1):
    return frame[y0:y1, x0:x1]


@kernel
def slice_bounds(frame: Array[np.uint16, 32, 64]) -> tuple[np.uint64, np.uint64]:
    best = frame[:, 0:16].sum()
    for i in range(1, 4):
        best = np.maximum(best, frame[:, i * 16:(i + 1) * 16].sum())
    h = frame.shape[0] // 2
    w = frame.shape[1]
    return best, roi(frame, 0, h, 2, w // 4).sum() + frame[h:, ::h // 4].sum()
