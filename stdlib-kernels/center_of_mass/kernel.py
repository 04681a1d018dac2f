"""Centre of mass over a region of interest.

Sums of I, x * I and y * I over a rectangle of the frame, pixels at or below
``t`` left out; the host divides (x = Sx / S, y = Sy / S). The coordinates are
compile-time arrays (``np.indices``): a counter in hardware.

For: beam-position monitoring and feedback to the instrument, on any detector.
"""

import numpy as np
from hiss import kernel, Array

H, W = 16, 32
R0, R1, C0, C1 = 2, 14, 4, 28


@kernel
def center_of_mass(frame: Array[np.uint16, H, W], t: np.uint16) -> tuple[np.int64, np.int64, np.int64]:
    y, x = np.indices((H, W))
    i = np.where(frame > t, frame, 0).astype(np.int64)[R0:R1, C0:C1]
    return i.sum(), (x[R0:R1, C0:C1] * i).sum(), (y[R0:R1, C0:C1] * i).sum()
