"""`None`/`np.newaxis` and `keepdims=True` as the broadcasts they are
(issue 10, item 7)."""
import numpy as np
from hiss import kernel, Array


@kernel
def newaxis_keepdims(
    frame: Array[np.uint16, 8, 16], gain: Array[np.uint16, 8], g2: Array[np.uint8, 16]
) -> tuple[
    Array[np.uint16, 8, 16],
    Array[np.uint64, 8, 1],
    Array[np.uint16, 1, 16],
    Array[np.int64, 1, 1],
    Array[np.uint16, 8, 16],
    Array[np.uint16, 1, 1, 16],
]:
    a = frame * gain[:, None]
    b = frame.sum(axis=1, keepdims=True)
    c = np.max(frame, axis=0, keepdims=True)
    d = np.argmax(frame, keepdims=True)
    e = frame + g2[np.newaxis, :]
    f = frame[2:3, None, :]
    return a, b, c, d, e, f
