import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.int32, 4, 6], row: Array[np.uint16, 6]) -> tuple[Array[np.int32, 4, 6], np.int64]:
    """A write that makes an array one constant, then a row broadcast against
    it: the frame's input gives the cycles."""
    x = frame.copy()
    x[0:4, 0::1] = 14
    y = row + x
    return y, (frame + y).sum()
