"""A per-column gain on 8-bit pixels; products wrap at 8 bits, as in numpy."""
import numpy as np
from hiss import kernel, Array


@kernel
def row_gain(frame: Array[np.uint8, 6, 16], gain: Array[np.uint8, 16]) -> Array[np.uint8, 6, 16]:
    return frame * gain
