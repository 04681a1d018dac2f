import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint16, 6, 10], ped: Array[np.uint16, 6, 10]) -> tuple[Array[np.int32, 6, 10], np.int64]:
    """A second name for an array: the in-place subtraction is seen through both."""
    corrected = frame.astype(np.int32)
    signal = corrected
    signal -= ped
    return corrected, signal.sum()
