import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint16, 8, 8], t: np.uint16) -> tuple[Array[np.uint16, 8, 8], np.uint64]:
    """A write under an `if` on a run-time value, and a view read after it."""
    out = frame.copy()
    top = out[:4]
    if frame.sum() > t:
        out += 1
    else:
        out[::2, ::3] = 9
    top >>= 1
    return out, top.sum(dtype=np.uint64)
