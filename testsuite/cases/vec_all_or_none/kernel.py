import numpy as np
from hiss import kernel, Array, Vec


@kernel
def all_or_none(frame: Array[np.int8, 4, 6], t: np.int8
                ) -> tuple[Vec[np.int64, 24], Vec[np.int16, 24], Vec[np.bool_, 24], np.int64]:
    """Frames where every pixel is selected, none is, or some: the selection
    keeps one element per cycle per lane and marks empty frames' ends."""
    hit = frame >= t
    idx = np.flatnonzero(hit)
    v = frame[hit].astype(np.int16)
    return np.where(idx % 2 == 0, idx, -idx), np.maximum(v * 3, v - 7), v > 0, np.count_nonzero(hit)
