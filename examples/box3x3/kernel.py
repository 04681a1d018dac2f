"""A 3x3 box sum over a 64 x 1024 frame: rows of 1024 pixels, as a JUNGFRAU
module's. The row buffers (two rows of the vertical sum) live in block RAM."""
import numpy as np
from hiss import kernel, Array


@kernel
def box3x3(frame: Array[np.uint16, 64, 1024]) -> Array[np.uint32, 62, 1022]:
    f = frame.astype(np.uint32)
    rows = f[:-2] + f[1:-1] + f[2:]
    return rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]
