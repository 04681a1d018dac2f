"""Planes of one input combined elementwise (issue 10, item 4): the first plane
waits 2048 cycles for the third, a delay line that lives in block RAM."""
import numpy as np
from hiss import kernel, Array


@kernel
def planes(cal: Array[np.int16, 3, 16, 64]) -> Array[np.int16, 16, 64]:
    return cal[0] + cal[2] - (cal[1] >> 2)
