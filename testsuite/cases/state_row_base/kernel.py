import numpy as np
from hiss import kernel, Array, State


@kernel
def row_base(frame: Array[np.uint16, 6, 8], base: State[np.int32, 8]) -> Array[np.int32, 6, 8]:
    """Each frame minus the previous frame's first row (a row state broadcast
    over the frame); the first row becomes the next base."""
    out = frame.astype(np.int32) - base
    base[...] = frame[0].astype(np.int32)
    return out
