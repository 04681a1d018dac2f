import numpy as np
from hiss import kernel, Array


@kernel
def rows(frame: Array[np.uint16, 16, 514], t: np.uint16
         ) -> tuple[Array[np.uint64, 16], Array[np.int64, 16], Array[np.bool_, 16],
                    Array[np.int32, 16, 514], Array[np.int64, 16]]:
    """Row statistics of an EIGER-wide frame (514 pixels: on 8 or 32 lanes a
    row ends in the middle of a cycle), each row's minimum taken off its own
    row (a row buffer), and where each row peaks."""
    f = frame.astype(np.int32)
    hot = frame > t
    return (frame.sum(axis=1), np.count_nonzero(hot, axis=1), hot.all(axis=1),
            f - f.min(axis=1, keepdims=True), np.argmax(frame, axis=1))
