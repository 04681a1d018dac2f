"""Helpers, constants, an `if` on a run-time parameter, a conditional expression,
tuple unpacking, augmented assignment and an argmax along an axis of 3-d frames."""
import numpy as np
from hiss import kernel, Array, u12

K = 3


def scale(x, k):
    return x >> k


@kernel
def mixed(frame: Array[u12, 3, 4, 5], t: np.uint16, mode: np.uint8) -> tuple[Array[np.uint16, 3, 4, 5], np.uint64, Array[np.int64, 4, 5]]:
    if mode > 2:
        y = scale(frame, K)
    else:
        y = frame
    z = y if t > 100 else frame
    a, b = z.sum(), np.argmax(frame, axis=0)
    acc = frame.astype(np.uint32)
    acc += y
    return np.minimum(acc, 4095).astype(np.uint16), a, b
