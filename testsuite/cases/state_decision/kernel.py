import numpy as np
from hiss import kernel, Array, State


@kernel
def decision(frame: Array[np.uint16, 8, 8], t: np.uint16, kept: State[np.int64],
             peak: State[np.uint16]) -> tuple[np.bool_, np.int64, np.uint16]:
    """A frame-level decision counted in a 0-d state, and the brightest pixel so far."""
    keep = np.count_nonzero(frame > t) >= 5
    n = np.where(keep, kept + 1, kept)
    kept[...] = n
    top = np.maximum(peak, frame.max())
    peak[...] = top
    return keep, n, top
