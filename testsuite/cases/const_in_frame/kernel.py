import numpy as np
from hiss import kernel, Array, Vec


@kernel
def k(frame: Array[np.uint16, 4, 6], t: np.int32) -> tuple[Array[np.int32, 2, 3], Vec[np.int32, 24], Array[np.int32, 4, 6]]:
    """Arrays a write makes constant during a frame (here, or from a
    parameter): sliced, selected and returned as numpy returns them, the
    frame's input giving the cycles (found by the random kernels)."""
    x = frame.astype(np.int32)
    x[0:4, 0::1] = 65
    scaled = ~((~x) * np.minimum(t, x))
    hit = x <= 70
    return scaled[1::2, 0::2], np.maximum(x[hit], -28) - 1, x * t
