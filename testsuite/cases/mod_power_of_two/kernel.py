import numpy as np
from hiss import kernel, Array


@kernel
def mods(frame: Array[np.int16, 4, 8]) -> tuple[Array[np.int16, 4, 8], Array[np.int16, 4, 8], Array[np.int16, 4, 8], Array[np.int16, 4, 8], Array[np.int16, 4, 8]]:
    """`%` by a power of two (and its negative) is a shift in hardware, not
    a multiplication that synthesis maps to a DSP block."""
    return frame % 16, frame % -8, frame % -1, frame % 1, frame % 6
