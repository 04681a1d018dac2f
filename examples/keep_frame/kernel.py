"""The in-situ decision sent back to the instrument: keep this frame?"""
import numpy as np
from hiss import kernel, Array

MIN_HITS = 12


@kernel
def keep_frame(frame: Array[np.uint16, 32, 32], t: np.uint16) -> np.bool_:
    hits = np.count_nonzero(frame > t)
    return hits >= MIN_HITS
