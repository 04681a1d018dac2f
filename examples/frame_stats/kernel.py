"""Four statistics of a frame in one pass."""
import numpy as np
from hiss import kernel, Array


@kernel
def frame_stats(frame: Array[np.uint16, 24, 24], t: np.uint16
                ) -> tuple[np.uint16, np.uint16, np.uint64, np.int64]:
    hits = np.count_nonzero(frame > t)
    return frame.min(), frame.max(), frame.sum(), hits
